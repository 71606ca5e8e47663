"""What every importer shares: reading CSV files as other tools export them, the plan an importer
builds before anything is written, and the rules that turn a stage history into a deal's state.

An importer (a preset or the generic mapping) only reads files and builds an `ImportPlan`; the
plan carries every rejected row with its file, line and reason. `services.pipeline_import` writes
a plan only when it has no errors, so a bad file never leaves half an import behind.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from stages import rules

# Model limits the plan checks up front, so a bad value is a rejected row, not a database error.
NAME_MAX = 200
PRODUCT_MAX = 80
ACCOUNT_NAME_MAX = 200
LOSS_REASON_MAX = 200
AMOUNT_MAX = Decimal("999999999999.99")  # max_digits=14, decimal_places=2

# A lost deal needs a loss reason (the move service insists); most exports do not carry one.
IMPORTED_LOSS_REASON = "Not given in the imported data"

OPEN, WON, LOST = "open", "won", "lost"


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A rejected row (or a whole file when `line` is None), with the reason."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


# --- reading CSV ---------------------------------------------------------------------------------


@dataclass
class CsvFile:
    name: str
    header: list[str]
    # (physical line where the record starts, header = line 1; values by column, stripped)
    rows: list[tuple[int, dict[str, str]]]

    def has(self, column: str) -> bool:
        return column in self.header


def decode(name: str, data: bytes | str, errors: list[RowError]) -> str | None:
    """Text of an uploaded or read file. A UTF-8 BOM (Salesforce, Excel) is dropped."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(
            RowError(name, None, f"is not UTF-8 text (invalid byte at offset {exc.start})")
        )
        return None


def read_csv(name: str, data: bytes | str, errors: list[RowError]) -> CsvFile | None:
    """Parse a CSV export: BOM or not, CRLF or LF, quoted fields that span lines.

    Line numbers are those an editor shows, so a rejected row can be found in the file.
    """
    text = decode(name, data, errors)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            errors.append(RowError(name, None, "is empty: no header row"))
            return None
        header = [cell.strip() for cell in header]
        duplicates = sorted(column for column, n in Counter(header).items() if n > 1)
        if duplicates:
            errors.append(RowError(name, 1, f"repeats the column(s) {', '.join(duplicates)}"))
            return None
        rows: list[tuple[int, dict[str, str]]] = []
        previous_line = reader.line_num
        for values in reader:
            line, previous_line = previous_line + 1, reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                errors.append(
                    RowError(
                        name,
                        line,
                        f"has {len(values)} fields where the header has {len(header)}",
                    )
                )
                continue
            rows.append(
                (
                    line,
                    {column: value.strip() for column, value in zip(header, values, strict=True)},
                )
            )
    except csv.Error as exc:
        errors.append(RowError(name, reader.line_num or None, f"is not valid CSV: {exc}"))
        return None
    return CsvFile(name=name, header=header, rows=rows)


def require_columns(csv_file: CsvFile, columns: list[str], errors: list[RowError]) -> bool:
    missing = [column for column in columns if not csv_file.has(column)]
    if missing:
        errors.append(
            RowError(
                csv_file.name,
                1,
                f"missing required column(s): {', '.join(missing)} "
                f"(found: {', '.join(csv_file.header)})",
            )
        )
    return not missing


def find_file(files: dict[str, bytes | str], wanted: str) -> tuple[str, bytes | str] | None:
    """The file called `wanted`, ignoring case (uploads and directories spell names freely)."""
    for name, data in files.items():
        if name.casefold() == wanted.casefold():
            return name, data
    return None


# --- values ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def parse_datetime(value: str, formats: tuple[str, ...]) -> datetime:
    """A UTC datetime from `value`; a date alone is taken at 00:00 UTC.

    `formats` are strptime formats tried in order; "iso" stands for ISO 8601 (a date, or a
    date and time with an optional offset or Z). Cached: an export repeats the same few hundred
    dates thousands of times, and strptime is slow.
    """
    for fmt in formats:
        try:
            parsed = (
                datetime.fromisoformat(value) if fmt == "iso" else datetime.strptime(value, fmt)
            )
        except ValueError:
            continue
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    raise ValueError(value)


def parse_amount(value: str) -> Decimal | None:
    """A non-negative amount with at most two decimals; None when empty."""
    if value == "":
        return None
    try:
        amount = Decimal(value.replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a number")
    if amount < 0:
        raise ValueError(f"{value} is negative")
    amount = amount.quantize(Decimal("0.01"))
    if amount > AMOUNT_MAX:
        raise ValueError(f"{value} is too large")
    return amount


def split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first[:150], last.strip()[:150]


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    name: str
    slug: str
    position: int
    kind: str = OPEN
    probability: int = 0
    starts_clock: bool = False
    is_optional: bool = False
    # The stage's required checklist items (id, title), for an existing process.
    required_items: tuple[tuple[int, str], ...] = ()
    pk: int | None = None


@dataclass(frozen=True)
class ProcessSpec:
    """The process deals are imported into: created from this spec by a preset when missing,
    or an existing process (generic imports)."""

    slug: str
    name: str
    stages: tuple[StageSpec, ...]
    description: str = ""
    create_if_missing: bool = True

    @functools.cached_property
    def _by_name(self) -> dict[str, StageSpec]:
        return {stage.name.casefold(): stage for stage in self.stages}

    def stage(self, name: str) -> StageSpec | None:
        return self._by_name.get(name.strip().casefold())

    @classmethod
    def of_process(cls, process) -> ProcessSpec:
        """The spec of a stored process (`stages.models.Process`), with its stage ids and
        required items, so a replay against it knows which gates each move owes."""
        stages = process.stages.order_by("position").prefetch_related("items")
        return cls(
            slug=process.slug,
            name=process.name,
            create_if_missing=False,
            stages=tuple(
                StageSpec(
                    stage.name,
                    stage.slug,
                    stage.position,
                    stage.kind,
                    probability=stage.probability,
                    starts_clock=stage.starts_clock,
                    is_optional=stage.is_optional,
                    required_items=tuple(
                        (item.pk, item.title)
                        for item in sorted(stage.items.all(), key=lambda i: (i.position, i.pk))
                        if item.required
                    ),
                    pk=stage.pk,
                )
                for stage in stages
            ),
        )

    @functools.cached_property
    def rules(self) -> rules.ProcessRules:
        """The stages as the move rules see them (in the order of `stages`), keyed by stage id
        when the process is stored, by position when it is not yet."""
        return rules.ProcessRules(
            tuple(
                rules.RuleStage.of(stage, key=stage.pk or stage.position) for stage in self.stages
            )
        )

    @functools.cached_property
    def required_items(self) -> dict[int, list[rules.Item]]:
        return {
            rule_stage.key: [rules.Item(pk, title) for pk, title in stage.required_items]
            for stage, rule_stage in zip(self.stages, self.rules.stages, strict=True)
            if stage.required_items
        }

    @property
    def first_open_stage(self) -> StageSpec:
        return min((stage for stage in self.stages if stage.kind == OPEN), key=lambda s: s.position)

    def stage_names(self) -> str:
        return ", ".join(stage.name for stage in sorted(self.stages, key=lambda s: s.position))


@dataclass
class UserRecord:
    """A deal owner as the file names them. An import never changes an EPOS user: an owner who
    is already in EPOS is only linked to, and one who is not becomes a new user without login,
    without any role (see `services._Writer._users`)."""

    external_id: str
    first_name: str = ""
    last_name: str = ""
    # Usernames or emails that may name a person already in EPOS (tried in order).
    match: tuple[str, ...] = ()
    # False when the file gives only an id (a Salesforce OwnerId without User.csv): the
    # preview says so, rather than quietly making users named like ids.
    name_known: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.external_id


@dataclass
class TeamRecord:
    """A deal's team, by name. Who belongs to it is never read from a file."""

    external_id: str
    name: str
    region: str = ""


@dataclass
class AccountRecord:
    external_id: str
    name: str
    industry: str = ""
    segment: str = ""
    employees: int | None = None
    country: str = ""
    business_context: str = ""


@dataclass(frozen=True)
class TransitionRecord:
    stage: str  # a stage name of the plan's process
    moved_at: datetime
    note: str = ""


@dataclass(frozen=True)
class DealState:
    stage: str
    stage_entered_at: datetime
    engaged_at: datetime | None
    closed_at: datetime | None
    outcome: str
    # Per transition, the required items the move left open (StageTransition.unmet_items).
    unmet: tuple[list[dict], ...] = ()


@dataclass
class OpportunityRecord:
    external_id: str
    file: str
    line: int
    name: str
    transitions: list[TransitionRecord]
    amount: Decimal | None = None  # unknown stays unknown
    currency: str = "USD"
    product: str = ""
    owner: str | None = None  # UserRecord.external_id
    account: str | None = None  # AccountRecord.external_id
    team: str | None = None  # TeamRecord.external_id
    expected_close_date: date | None = None
    loss_reason: str = ""
    # The file gives no date at all for this deal (its times are the import's "as of"): on a
    # re-import it keeps the times it got when first imported, unless its stages changed.
    undated: bool = False
    state: DealState | None = None

    @property
    def created_at(self) -> datetime:
        return self.transitions[0].moved_at


class ReplayError(ValueError):
    pass


def replay(transitions: list[TransitionRecord], process: ProcessSpec) -> DealState:
    """The deal's state after these moves, judged by the process's rules (`stages.rules`), the
    same as `opportunity_move_to_stage` applies.

    What the source CRM recorded is kept: a move that broke a gate (skipped required items, a
    lost deal won without an override) is not refused, and the items it left open are kept as
    the transition's `unmet_items`. Histories that cannot be stored at all are refused: an
    unknown stage, a start in a closed stage, a move to the same stage, time going backwards,
    a post-sale stage without a win.
    """
    if not transitions:
        raise ReplayError("has no stage history")
    process_rules = process.rules
    clock = rules.DealClock(OPEN, None, None)
    previous: rules.RuleStage | None = None
    closed_from: rules.RuleStage | None = None
    unmet: list[list[dict]] = []
    for index, transition in enumerate(transitions):
        spec = process.stage(transition.stage)
        if spec is None:
            raise ReplayError(f"unknown stage {transition.stage!r}")
        stage = process_rules.stages[process.stages.index(spec)]
        if index and transition.moved_at < transitions[index - 1].moved_at:
            raise ReplayError(
                f"enters {stage.name!r} on {transition.moved_at:%Y-%m-%d}, before the "
                f"previous stage ({transitions[index - 1].moved_at:%Y-%m-%d})"
            )
        verdict = rules.judge_move(
            process_rules,
            from_stage=previous,
            to_stage=stage,
            outcome=clock.outcome,
            closed_from=closed_from,
            open_items=process.required_items,  # nothing is ticked in an import
        )
        if verdict.problem:
            raise ReplayError(f"cannot enter {stage.name!r}: {verdict.problem}")
        unmet.append(verdict.unmet_payload)
        if rules.closes_from(process_rules, previous, stage):
            closed_from = previous
        clock = rules.after_move(process_rules, clock, to_stage=stage, at=transition.moved_at)
        previous = stage
    return DealState(
        stage=previous.name,
        stage_entered_at=transitions[-1].moved_at,
        engaged_at=clock.engaged_at,
        closed_at=clock.closed_at,
        outcome=clock.outcome,
        unmet=tuple(unmet),
    )


def without_repeats(transitions: list[TransitionRecord]) -> list[TransitionRecord]:
    """Drop entries into the stage the deal is already in: a CRM writes a history row on an
    amount or date change too, and staying put is not a move."""
    kept: list[TransitionRecord] = []
    for transition in transitions:
        if kept and kept[-1].stage.casefold() == transition.stage.casefold():
            continue
        kept.append(transition)
    return kept


@dataclass
class ImportPlan:
    system: str
    process: ProcessSpec
    users: dict[str, UserRecord] = field(default_factory=dict)
    teams: dict[str, TeamRecord] = field(default_factory=dict)
    accounts: dict[str, AccountRecord] = field(default_factory=dict)
    opportunities: list[OpportunityRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_read: int = 0

    def default_team(self, *, pk: int, name: str) -> int:
        """Put the deals whose file names no team (a Salesforce export has no team column) in
        this EPOS team; returns how many. Who may import into it is checked when writing."""
        key = f"epos-team-{pk}"
        orphans = [record for record in self.opportunities if record.team is None]
        if orphans:
            self.teams.setdefault(key, TeamRecord(external_id=key, name=name))
        for record in orphans:
            record.team = key
        return len(orphans)

    def reject(self, file: str, line: int | None, message: str) -> None:
        self.errors.append(RowError(file, line, message))

    def sort_errors(self) -> None:
        """Files in the order their first problem was found, rows in line order within each."""
        files: dict[str, int] = {}
        for error in self.errors:
            files.setdefault(error.file, len(files))
        self.errors.sort(key=lambda error: (files[error.file], error.line or 0))

    def add_opportunity(self, record: OpportunityRecord) -> None:
        """Check a deal against the model's limits and the move rules, then keep it."""
        problems = []
        if not record.name:
            problems.append("has no name")
        elif len(record.name) > NAME_MAX:
            problems.append(f"name is longer than {NAME_MAX} characters")
        if len(record.product) > PRODUCT_MAX:
            problems.append(f"product is longer than {PRODUCT_MAX} characters")
        if len(record.loss_reason) > LOSS_REASON_MAX:
            problems.append(f"loss reason is longer than {LOSS_REASON_MAX} characters")
        try:
            record.state = replay(record.transitions, self.process)
        except ReplayError as exc:
            problems.append(f"stage history {exc}")
        if record.state and record.state.outcome == LOST and not record.loss_reason:
            record.loss_reason = IMPORTED_LOSS_REASON
        if record.state and record.state.outcome != LOST:
            record.loss_reason = ""
        for problem in problems:
            self.reject(record.file, record.line, problem)
        if not problems:
            self.opportunities.append(record)

    # --- what the preview shows ---

    def count_by_stage(self) -> list[tuple[str, int]]:
        counts = Counter(record.state.stage for record in self.opportunities)
        ordered = sorted(self.process.stages, key=lambda stage: stage.position)
        return [(stage.name, counts[stage.name]) for stage in ordered if counts[stage.name]]

    def count_by_outcome(self) -> dict[str, int]:
        counts = Counter(record.state.outcome for record in self.opportunities)
        return {outcome: counts.get(outcome, 0) for outcome in (WON, LOST, OPEN)}

    def transition_count(self) -> int:
        return sum(len(record.transitions) for record in self.opportunities)
