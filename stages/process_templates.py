"""The shape of a process template: the dataclasses and helpers the built-ins are written with.

The built-in templates themselves are data in `stages.templates_data`, one module per template.
`manage.py load_processes` turns them into Process / Stage / StageItem rows through
`stages.services.processes_load_builtin`. Editing a template and reloading either rewrites the
latest version in place (no deals on it yet) or creates a new version (deals exist), so the
history of running deals is never rewritten.

Stage positions come from the order of `stages`; a template lists its stages in board order.
"""

from __future__ import annotations

from dataclasses import dataclass
from inspect import cleandoc

from stages.models import Stage, StageItem

OPEN, WON, LOST = Stage.Kind.OPEN.value, Stage.Kind.WON.value, Stage.Kind.LOST.value
MARKETING = Stage.Phase.MARKETING.value
SALES = Stage.Phase.SALES.value
ONBOARDING = Stage.Phase.ONBOARDING.value
IMPACT = Stage.Phase.IMPACT.value
GROW = Stage.Phase.GROW.value


@dataclass(frozen=True)
class ToolDefinition:
    slug: str
    name: str
    url: str = ""
    description: str = ""


@dataclass(frozen=True)
class ItemDefinition:
    kind: str
    title: str
    description: str = ""
    required: bool = False
    # The evidence that completes the item by itself (opportunities.automation): an event and
    # its condition as sorted (key, value) pairs, e.g. ("esat.sent", ()).
    evidence_event: str = ""
    evidence_condition: tuple = ()

    @property
    def condition(self) -> dict:
        """The condition as `StageItem.evidence_condition` stores it (lists, not tuples)."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in self.evidence_condition}  # fmt: skip


def condition_pairs(condition: dict) -> tuple:
    """A stored evidence condition as `ItemDefinition.evidence_condition` holds it: sorted,
    hashable pairs (the inverse of `ItemDefinition.condition`)."""
    return tuple(
        sorted((key, tuple(v) if isinstance(v, list) else v) for key, v in condition.items())
    )


Evidence = tuple[str, dict] | None


def _item(kind, title, description, required, evidence: Evidence) -> ItemDefinition:
    event, condition = evidence or ("", {})
    return ItemDefinition(kind, title, description, required, event, condition_pairs(condition))


@dataclass(frozen=True)
class StageDefinition:
    name: str
    slug: str
    kind: str = OPEN
    phase: str = SALES
    goal: str = ""
    guidance: str = ""
    probability: int = 0
    target_days: int | None = None
    is_optional: bool = False
    starts_clock: bool = False
    items: tuple[ItemDefinition, ...] = ()
    tools: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessTemplate:
    slug: str
    name: str
    description: str
    stages: tuple[StageDefinition, ...]

    @property
    def item_count(self) -> int:
        return sum(len(stage.items) for stage in self.stages)


def prerequisite(
    title: str, description: str = "", *, required: bool = False, evidence: Evidence = None
) -> ItemDefinition:
    return _item(StageItem.Kind.PREREQUISITE.value, title, description, required, evidence)


def call_to_action(
    title: str, description: str = "", *, required: bool = False, evidence: Evidence = None
) -> ItemDefinition:
    return _item(StageItem.Kind.CALL_TO_ACTION.value, title, description, required, evidence)


def deliverable(
    title: str, description: str = "", *, required: bool = False, evidence: Evidence = None
) -> ItemDefinition:
    return _item(StageItem.Kind.DELIVERABLE.value, title, description, required, evidence)


def exit_criterion(
    title: str, description: str = "", *, required: bool = False, evidence: Evidence = None
) -> ItemDefinition:
    return _item(StageItem.Kind.EXIT_CRITERION.value, title, description, required, evidence)


def markdown(text: str) -> str:
    """Markdown written as an indented triple-quoted string, with the indentation removed."""
    return cleandoc(text)
