"""The move rules of a process: which stage a deal may go to from where it is, and what it owes.

Pure functions of the process's shape, the deal's state and what is done: no database. The move
service (`opportunities.services.opportunity_move_to_stage`), the importer's replay of a CRM's
history, the demo generator and the consistency metric all ask here, so a rule changes in one
place.

- A stage of another process, or the stage the deal is in, is no move.
- Post-sale stages (open stages after Won: the bow-tie's Onboarding, Impact, Grow) come only
  after a win.
- Moving forward checks the required items of the stage being left and of every stage passed
  over that is not optional; open items need an override (a reason, from someone who may give
  one).
- A lost stage is reachable from anywhere with a loss reason, with no gate.
- Leaving Won or Lost for a sales stage is a reopen: to the stage the deal closed from or an
  earlier one freely; further on, the gates apply from the stage it closed from.
- Lost → Won needs an override whatever is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from epos.lib.errors import Forbidden, GateBlocked, InvalidInput

OPEN, WON, LOST = "open", "won", "lost"
# Deal outcomes (opportunities.Opportunity.Outcome), as plain values: this module stays pure.
OUTCOME_OPEN, OUTCOME_WON, OUTCOME_LOST, OUTCOME_QUALIFIED_OUT = (
    "open",
    "won",
    "lost",
    "qualified_out",
)
CLOSED_LOST = (OUTCOME_LOST, OUTCOME_QUALIFIED_OUT)
MOVING_ON = (OPEN, WON)  # entering one of these passes earlier open stages


class LossReasonMissing(InvalidInput):
    """A move to a lost stage names no loss reason."""


class OverrideNotAllowed(Forbidden):
    """An override was given by someone who may not give one."""


@dataclass(frozen=True)
class Item:
    """A required checklist item that is not done."""

    id: int | None
    title: str


@dataclass(frozen=True)
class RuleStage:
    """What the rules need to know of a stage: `key` identifies it within its process (the
    stage's primary key, or its position when the process is not stored yet)."""

    key: int
    name: str
    position: int
    kind: str = OPEN
    starts_clock: bool = False
    is_optional: bool = False

    @classmethod
    def of(cls, stage, key: int | None = None) -> RuleStage:
        """From a `stages.models.Stage` or anything shaped like one (the importer's specs)."""
        return cls(
            key=stage.pk if key is None else key,
            name=stage.name,
            position=stage.position,
            kind=stage.kind,
            starts_clock=stage.starts_clock,
            is_optional=stage.is_optional,
        )


@dataclass(frozen=True)
class ProcessRules:
    stages: tuple[RuleStage, ...]
    clock_position: int | None = field(init=False)
    won_position: int | None = field(init=False)

    def __post_init__(self):
        clock = min((s.position for s in self.stages if s.starts_clock), default=None)
        won = next((s.position for s in self.stages if s.kind == WON), None)
        object.__setattr__(self, "clock_position", clock)
        object.__setattr__(self, "won_position", won)

    @classmethod
    def of(cls, stages: Iterable) -> ProcessRules:
        return cls(tuple(s if isinstance(s, RuleStage) else RuleStage.of(s) for s in stages))

    def is_post_sale(self, stage: RuleStage) -> bool:
        """An open stage after Won: reached only once the deal is won."""
        return (
            stage.kind == OPEN
            and self.won_position is not None
            and (stage.position > self.won_position)
        )

    def clock_applies(self, stage: RuleStage) -> bool:
        """Whether entering `stage` means the deal is engaged (the MTTC clock runs)."""
        if stage.kind == LOST:
            return False
        if stage.kind == WON or stage.starts_clock:
            return True
        return self.clock_position is not None and stage.position >= self.clock_position


def passes(entered, earlier) -> bool:
    """Does entering `entered` pass an earlier entry into `earlier` (StageTransition.passed_at)?"""
    return (
        earlier.kind == OPEN and entered.kind in MOVING_ON and entered.position > earlier.position
    )


def closes_from(rules: ProcessRules, from_stage, to_stage) -> bool:
    """Whether this move closes a deal from a sales stage: a later reopen may return there
    freely (`closed_from` of `judge_move`)."""
    return (
        to_stage.kind in (WON, LOST)
        and from_stage is not None
        and from_stage.kind == OPEN
        and not rules.is_post_sale(from_stage)
    )


def is_gated_exit(from_stage, to_stage) -> bool:
    """Whether leaving `from_stage` for `to_stage` owes the checklist of `from_stage`: a forward
    move out of an open stage, not to a lost one (what the consistency metric counts)."""
    return (
        from_stage.kind == OPEN
        and to_stage.kind != LOST
        and to_stage.position > from_stage.position
    )


@dataclass(frozen=True)
class Judgement:
    """What a move owes: `problem` makes it impossible whoever asks; `unmet` items and
    `override_needed` (why an override is needed, if it is) can be overridden."""

    problem: str = ""
    unmet: tuple[tuple[RuleStage, Item], ...] = ()
    override_needed: str = ""
    reopen: bool = False
    post_sale: bool = False

    @property
    def unmet_payload(self) -> list[dict]:
        """The shape stored in `StageTransition.unmet_items` and answered with a 409."""
        return [
            {"id": item.id, "title": item.title, "stage_id": stage.key, "stage": stage.name}
            for stage, item in self.unmet
        ]

    def refuse(
        self, *, override_reason: str, may_override: bool, loss_reason: str, to_stage: RuleStage
    ) -> None:
        """Raise the typed refusal of this move, if any: InvalidInput, LossReasonMissing,
        GateBlocked (409, with the unmet items of each stage) or OverrideNotAllowed."""
        if self.problem:
            raise InvalidInput(self.problem)
        if self.override_needed and not override_reason:
            raise GateBlocked(self.override_needed, unmet_items=self.unmet_payload)
        if self.override_needed and not may_override:
            raise OverrideNotAllowed(
                "Only a manager of this team may override the process's gates."
            )
        if to_stage.kind == LOST and not loss_reason:
            raise LossReasonMissing("Say why the opportunity was lost (loss_reason).")


def gated_stages(
    rules: ProcessRules,
    *,
    from_stage: RuleStage,
    to_stage: RuleStage,
    outcome: str,
    closed_from: RuleStage | None,
) -> list[RuleStage]:
    """The stages whose required items a move must have done: the stage the move starts from
    (the stage being left, or the one a closed deal closed from) when it is open, and every
    open stage passed over that is not optional. None for a loss or a move back."""
    if to_stage.kind == LOST:
        return []
    start = from_stage
    if _is_reopen(rules, outcome, to_stage) and closed_from is not None:
        start = closed_from
    if to_stage.position <= start.position:
        return []
    between = [
        stage
        for stage in rules.stages
        if start.position < stage.position < to_stage.position
        and stage.kind == OPEN
        and not stage.is_optional
    ]
    return ([start] if start.kind == OPEN else []) + sorted(between, key=lambda s: s.position)


def _is_reopen(rules: ProcessRules, outcome: str, to_stage: RuleStage) -> bool:
    return outcome != OUTCOME_OPEN and to_stage.kind == OPEN and not rules.is_post_sale(to_stage)


def judge_move(
    rules: ProcessRules,
    *,
    from_stage: RuleStage | None,
    to_stage: RuleStage,
    outcome: str = OUTCOME_OPEN,
    closed_from: RuleStage | None = None,
    open_items: Mapping[int, Sequence[Item]]
    | Callable[[list[int]], Mapping[int, Sequence[Item]]]
    | None = None,
) -> Judgement:
    """Judge a move of a deal (in `from_stage` with `outcome`; `None` for a new deal) to
    `to_stage`. `open_items`: the required items not done yet, by stage key, or a function
    that reads them for the keys of the stages the move owes (`gated_stages`), so a caller
    reads only those; `closed_from`: for a closed deal, the stage it closed from."""
    post_sale = rules.is_post_sale(to_stage)
    if from_stage is None:
        if to_stage.kind != OPEN:
            return Judgement(problem="A new opportunity starts in an open stage.")
        if post_sale:
            return Judgement(
                problem=f"A new opportunity cannot start in {to_stage.name!r}, which comes "
                "after the deal is won."
            )
        return Judgement()
    if to_stage.key == from_stage.key:
        return Judgement(problem=f"The opportunity is already in {to_stage.name!r}.")
    if post_sale and outcome != OUTCOME_WON:
        return Judgement(
            problem=f"{to_stage.name!r} comes after the deal is won: move it to Won first."
        )
    gates = gated_stages(
        rules, from_stage=from_stage, to_stage=to_stage, outcome=outcome, closed_from=closed_from
    )
    if callable(open_items):
        open_items = open_items([stage.key for stage in gates]) if gates else {}
    open_items = open_items or {}
    unmet = tuple((stage, item) for stage in gates for item in open_items.get(stage.key, ()))
    needed = ""
    if unmet:
        names = ", ".join(dict.fromkeys(stage.name for stage, _ in unmet))
        needed = f"{len(unmet)} required item(s) of {names} are not done yet."
    if to_stage.kind == WON and outcome in CLOSED_LOST:
        needed = (
            "A lost deal goes to Won only with a manager's override: reopen it, or say why."
            + (f" {needed}" if needed else "")
        )
    return Judgement(
        unmet=unmet,
        override_needed=needed,
        reopen=_is_reopen(rules, outcome, to_stage),
        post_sale=post_sale,
    )


@dataclass(frozen=True)
class DealClock:
    """The parts of a deal's state a move changes."""

    outcome: str
    engaged_at: datetime | None
    closed_at: datetime | None


def after_move(
    rules: ProcessRules,
    state: DealClock,
    *,
    to_stage: RuleStage,
    at: datetime,
    qualified_out: bool = False,
) -> DealClock:
    """The deal's outcome, clock start and close after entering `to_stage` at `at`. The clock
    starts at the first entry into an engaged stage and is never reset; Won and Lost close the
    deal and a sales stage reopens it; post-sale stages (and a return from them to Won) keep
    the win and its close date."""
    engaged_at = state.engaged_at
    if engaged_at is None and rules.clock_applies(to_stage):
        engaged_at = at
    if rules.is_post_sale(to_stage) or (to_stage.kind == WON and state.outcome == OUTCOME_WON):
        return DealClock(OUTCOME_WON, engaged_at, state.closed_at)
    if to_stage.kind == WON:
        return DealClock(OUTCOME_WON, engaged_at, at)
    if to_stage.kind == LOST:
        return DealClock(OUTCOME_QUALIFIED_OUT if qualified_out else OUTCOME_LOST, engaged_at, at)
    return DealClock(OUTCOME_OPEN, engaged_at, None)
