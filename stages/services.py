"""Every write to stages goes through these functions: one transaction each."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.db import transaction
from django.db.models import F

from epos.builtin import Shipped, builtin_sync
from epos.lib.errors import Forbidden, InvalidInput
from epos.lib.roles import ADMIN, CURATOR, has_role
from epos.models import BuiltinRecord
from stages.models import Process, Stage, StageItem, Tool
from stages.process_templates import (
    ItemDefinition,
    ProcessTemplate,
    StageDefinition,
    ToolDefinition,
    condition_pairs,
)
from stages.templates_data import PROCESS_TEMPLATES, TOOLS

LoadAction = Literal["created", "unchanged", "updated", "new_version_offered", "deleted_by_people"]
BUILTIN_PROCESS, BUILTIN_TOOL = "stages.process", "stages.tool"

_SLUG = re.compile(r"^[-a-z0-9_]+$")
# Reordering stages in place would trip the (process, position) unique constraint row by row;
# parking the old positions above any real position first avoids that on every backend.
_POSITION_PARKING_OFFSET = 1000


class InvalidTemplate(InvalidInput):
    """A process template is inconsistent; nothing was written."""

    def __init__(self, slug: str, problems: list[str]):
        super().__init__(
            f"Process template {slug!r} is invalid: " + "; ".join(problems), problems=problems
        )
        self.slug = slug
        self.problems = problems


@dataclass(frozen=True)
class ProcessLoadResult:
    slug: str
    process: Process | None
    action: LoadAction
    stage_count: int
    item_count: int


def template_digest(template: ProcessTemplate) -> str:
    """SHA-256 of the template's canonical JSON: equal digests mean nothing to load."""
    canonical = json.dumps(
        dataclasses.asdict(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def shape_digest(template: ProcessTemplate) -> str:
    """A digest of what loading `template` writes, comparable with `process_as_template` of
    the stored process (the database keeps no order among a stage's tools)."""
    return template_digest(
        dataclasses.replace(
            template,
            stages=tuple(
                dataclasses.replace(stage, tools=tuple(sorted(stage.tools)))
                for stage in template.stages
            ),
        )
    )


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


def _template_problems(template: ProcessTemplate, tool_slugs: set[str]) -> list[str]:
    problems: list[str] = []
    if not _SLUG.match(template.slug or "") or len(template.slug) > _max_length(Process, "slug"):
        problems.append(f"slug {template.slug!r} is not a valid slug")
    if not template.name.strip() or len(template.name) > _max_length(Process, "name"):
        problems.append("name must be 1 to 120 characters")
    stages = template.stages
    kinds = [stage.kind for stage in stages]
    if kinds.count(Stage.Kind.OPEN) < 1:
        problems.append("needs at least one open stage")
    for kind in (Stage.Kind.WON, Stage.Kind.LOST):
        if kinds.count(kind) != 1:
            problems.append(f"needs exactly one {kind} stage, has {kinds.count(kind)}")
    clock_starters = [stage.slug for stage in stages if stage.starts_clock]
    if len(clock_starters) != 1:
        problems.append(f"exactly one stage must start the clock, got {clock_starters or 'none'}")
    for field in ("slug", "name"):
        values = [getattr(stage, field) for stage in stages]
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            problems.append(f"stage {field}s must be unique: {', '.join(duplicates)} repeated")
    if len(stages) > _POSITION_PARKING_OFFSET:
        problems.append(f"more than {_POSITION_PARKING_OFFSET} stages")
    for position, stage in enumerate(stages, start=1):
        problems.extend(
            f"stage {position} ({stage.slug!r}): {problem}"
            for problem in _stage_problems(stage, tool_slugs)
        )
    return problems


def _stage_problems(stage: StageDefinition, tool_slugs: set[str]) -> Iterable[str]:
    if not _SLUG.match(stage.slug or "") or len(stage.slug) > _max_length(Stage, "slug"):
        yield "slug is not a valid slug"
    if not stage.name.strip() or len(stage.name) > _max_length(Stage, "name"):
        yield "name must be 1 to 80 characters"
    if stage.kind not in Stage.Kind.values:
        yield f"unknown kind {stage.kind!r}"
    if stage.phase not in Stage.Phase.values:
        yield f"unknown phase {stage.phase!r}"
    if not 0 <= stage.probability <= 100:
        yield "probability must be between 0 and 100"
    if stage.kind == Stage.Kind.WON and stage.probability != 100:
        yield "a won stage has probability 100"
    if stage.kind == Stage.Kind.LOST and stage.probability != 0:
        yield "a lost stage has probability 0"
    if stage.target_days is not None and stage.target_days <= 0:
        yield "target_days must be positive"
    if stage.kind != Stage.Kind.OPEN and (stage.starts_clock or stage.is_optional):
        yield "a closed stage can neither start the clock nor be optional"
    unknown_tools = sorted(set(stage.tools) - tool_slugs)
    if unknown_tools:
        yield f"unknown tools {', '.join(unknown_tools)}"
    if len(set(stage.tools)) != len(stage.tools):
        yield "a tool is listed twice"
    for index, item in enumerate(stage.items, start=1):
        if item.kind not in StageItem.Kind.values:
            yield f"item {index}: unknown kind {item.kind!r}"
        if not item.title.strip() or len(item.title) > _max_length(StageItem, "title"):
            yield f"item {index}: title must be 1 to 200 characters"


def _validate(templates: Sequence[ProcessTemplate], tools: Sequence[ToolDefinition]) -> None:
    tool_slugs = [tool.slug for tool in tools]
    if len(set(tool_slugs)) != len(tool_slugs):
        raise InvalidTemplate("<tools>", ["tool slugs must be unique"])
    template_slugs = [template.slug for template in templates]
    if len(set(template_slugs)) != len(template_slugs):
        raise InvalidTemplate("<templates>", ["template slugs must be unique"])
    for template in templates:
        problems = _template_problems(template, set(tool_slugs))
        if problems:
            raise InvalidTemplate(template.slug, problems)


def _tools_load(tools: Sequence[ToolDefinition]) -> dict[str, Tool]:
    """Create the shipped tools never loaded before; leave edited and deleted ones alone."""

    def create(entry: Shipped) -> bool:
        tool = Tool(slug=entry.key, **entry.content)
        tool.full_clean()
        tool.save()
        return True

    builtin_sync(
        source=BUILTIN_TOOL,
        shipped=[
            Shipped(
                key=tool.slug,
                content={"name": tool.name, "url": tool.url, "description": tool.description},
            )
            for tool in tools
        ],
        existing_keys=lambda keys: Tool.objects.filter(slug__in=keys).values_list(
            "slug", flat=True
        ),
        create=create,
    )
    return {tool.slug: tool for tool in Tool.objects.filter(slug__in=[t.slug for t in tools])}


def _stage_values(definition: StageDefinition, position: int) -> dict:
    return {
        "position": position,
        "name": definition.name,
        "kind": definition.kind,
        "phase": definition.phase,
        "goal": definition.goal,
        "guidance": definition.guidance,
        "probability": definition.probability,
        "target_days": definition.target_days,
        "is_optional": definition.is_optional,
        "starts_clock": definition.starts_clock,
    }


def _item_values(definition: ItemDefinition, position: int) -> dict:
    return {
        "position": position,
        "kind": definition.kind,
        "title": definition.title,
        "description": definition.description,
        "required": definition.required,
        "evidence_event": definition.evidence_event,
        "evidence_condition": definition.condition,
    }


def _items_write(stage: Stage, definitions: Sequence[ItemDefinition]) -> None:
    """Make the stage's items match `definitions`, keeping the ids of items that stay."""
    existing = list(stage.items.order_by("position", "pk")) if stage.pk else []
    for position, definition in enumerate(definitions):
        values = _item_values(definition, position)
        if position < len(existing):
            item = existing[position]
            if all(getattr(item, field) == value for field, value in values.items()):
                continue
            for field, value in values.items():
                setattr(item, field, value)
        else:
            item = StageItem(stage=stage, **values)
        item.full_clean()
        item.save()
    surplus = [item.pk for item in existing[len(definitions) :]]
    if surplus:
        StageItem.objects.filter(pk__in=surplus).delete()


def _stages_write(
    process: Process, template: ProcessTemplate, tools_by_slug: dict[str, Tool]
) -> None:
    """Make the process's stages match the template.

    Stages are matched by slug and updated in place, so whatever else points at them (building
    block tags, for one) survives a template edit; stages gone from the template are deleted.
    Only called for a version without opportunities, so no deal history can be touched.
    """
    wanted_slugs = {definition.slug for definition in template.stages}
    process.stages.exclude(slug__in=wanted_slugs).delete()
    process.stages.update(position=F("position") + _POSITION_PARKING_OFFSET)
    existing = {stage.slug: stage for stage in process.stages.all()}
    for position, definition in enumerate(template.stages, start=1):
        stage = existing.get(definition.slug) or Stage(process=process, slug=definition.slug)
        for field, value in _stage_values(definition, position).items():
            setattr(stage, field, value)
        stage.full_clean()
        stage.save()
        # A tool someone deleted stays deleted; the stage goes without it.
        stage.tools.set([tools_by_slug[slug] for slug in definition.tools if slug in tools_by_slug])
        _items_write(stage, definition.items)


def process_as_template(process: Process) -> ProcessTemplate:
    """The process as it is in the database, in the shape of a template (to tell whether people
    changed it since it was loaded)."""
    stages = []
    for stage in process.stages.order_by("position").prefetch_related("items"):
        tools = stage.tools.through.objects.filter(stage=stage)
        stages.append(
            StageDefinition(
                name=stage.name,
                slug=stage.slug,
                kind=stage.kind,
                phase=stage.phase,
                goal=stage.goal,
                guidance=stage.guidance,
                probability=stage.probability,
                target_days=stage.target_days,
                is_optional=stage.is_optional,
                starts_clock=stage.starts_clock,
                items=tuple(
                    ItemDefinition(
                        item.kind,
                        item.title,
                        item.description,
                        item.required,
                        item.evidence_event,
                        condition_pairs(item.evidence_condition),
                    )
                    for item in sorted(stage.items.all(), key=lambda item: (item.position, item.pk))
                ),
                tools=tuple(sorted(tools.values_list("tool__slug", flat=True))),
            )
        )
    return ProcessTemplate(
        slug=process.slug,
        name=process.name,
        description=process.description,
        stages=tuple(stages),
    )


def _process_load_one(
    template: ProcessTemplate, tools_by_slug: dict[str, Tool], record: BuiltinRecord | None
) -> tuple[Process | None, LoadAction]:
    """Load one template; `record` is the ledger's entry for it (None: never loaded), whose
    digest is the shape the loader last wrote into the latest version."""
    digest = template_digest(template)
    # Locking the versions serialises two loaders started together (two web containers
    # running their start-up command): the second sees the first one's result.
    versions = list(
        Process.objects.select_for_update().filter(slug=template.slug).order_by("-version")
    )
    latest = versions[0] if versions else None
    if latest is None and record is not None:
        return None, "deleted_by_people"
    offered = next((version for version in versions if version.template_digest == digest), None)
    if offered is not None:
        return offered, "unchanged"

    # Untouched: the latest version is still exactly what the loader wrote into it.
    untouched = (
        latest is not None
        and record is not None
        and record.digest != ""
        and shape_digest(process_as_template(latest)) == record.digest
    )
    if latest is not None and untouched and not latest.opportunities.exists():
        # Nobody ran a deal on it or edited it: taking the new template loses nothing.
        latest.name, latest.description = template.name, template.description
        latest.template_digest = digest
        latest.full_clean()
        latest.save(update_fields=["name", "description", "template_digest"])
        _stages_write(latest, template, tools_by_slug)
        return latest, "updated"

    process = Process(
        slug=template.slug,
        name=template.name,
        description=template.description,
        # The first version is active at once; a later one is offered as a draft, which an
        # admin activates (retiring the version in use) when the team is ready for it.
        status=Process.Status.ACTIVE if latest is None else Process.Status.DRAFT,
        template_digest=digest,
        version=1 if latest is None else latest.version + 1,
        based_on=latest,
    )
    process.full_clean()
    process.save()
    _stages_write(process, template, tools_by_slug)
    return process, "created" if latest is None else "new_version_offered"


def process_activate(*, process: Process, actor) -> Process:
    """Make `process` the version new deals use; the other active versions of it retire.

    Deals keep pointing at the version they run on, whose stages stay exactly as they were.
    """
    if actor is not None and not has_role(actor, ADMIN, CURATOR):
        raise Forbidden("Only curators and admins activate process versions.")
    with transaction.atomic():
        locked = Process.objects.select_for_update().get(pk=process.pk)
        Process.objects.filter(slug=locked.slug, status=Process.Status.ACTIVE).exclude(
            pk=locked.pk
        ).update(status=Process.Status.RETIRED)
        locked.status = Process.Status.ACTIVE
        locked.save(update_fields=["status"])
    return locked


def process_create(
    *,
    template: ProcessTemplate,
    actor,
    status: str = Process.Status.DRAFT,
    based_on: Process | None = None,
) -> Process:
    """A process written from `template` by people (or the demo data), not a built-in one:
    the loader never touches it. A template of a slug that exists becomes its next version.

    Nothing else changes status: a draft waits for `process_activate`; an active process runs
    next to the others, as a pilot's does (`metrics.services.pilot_roll_out` retires the
    baseline once the pilot has proved itself). One version of a slug is active at a time, so
    a new active version of a slug in use is refused. `based_on`: the process it was derived
    from (by default, the slug's latest version).
    """
    if actor is not None and not has_role(actor, ADMIN, CURATOR):
        raise Forbidden("Only curators and admins write processes.")
    tools_by_slug = {tool.slug: tool for tool in Tool.objects.all()}
    problems = _template_problems(template, set(tools_by_slug))
    if problems:
        raise InvalidTemplate(template.slug, problems)
    with transaction.atomic():
        latest = (
            Process.objects.select_for_update()
            .filter(slug=template.slug)
            .order_by("-version")
            .first()
        )
        if status == Process.Status.ACTIVE and (
            Process.objects.filter(slug=template.slug, status=Process.Status.ACTIVE).exists()
        ):
            raise InvalidInput(
                f"{template.slug!r} has an active version already: write a draft and activate it."
            )
        process = Process(
            slug=template.slug,
            name=template.name,
            description=template.description,
            status=status,
            version=latest.version + 1 if latest else 1,
            based_on=based_on or latest,
        )
        process.full_clean()
        process.save()
        _stages_write(process, template, tools_by_slug)
    return process


def processes_load_builtin(
    *,
    templates: Sequence[ProcessTemplate] | None = None,
    tools: Sequence[ToolDefinition] | None = None,
) -> list[ProcessLoadResult]:
    """Load the built-in process templates (or `templates`), idempotently.

    Safe on every start; it never undoes people's work. Per template: never loaded → version 1
    is created (active); loaded before but every version deleted → stays deleted; a version
    already carries this template → nothing changes; changed, and the latest version is as it
    was loaded with no deals on it → rewritten in place; otherwise the new template is offered
    as a draft version based on the latest, which an admin activates (`process_activate`).
    Tools are created once and never overwritten. Every template is validated before anything
    is written, and everything happens in one transaction.
    """
    templates = PROCESS_TEMPLATES if templates is None else tuple(templates)
    tools = TOOLS if tools is None else tuple(tools)
    _validate(templates, tools)
    results: list[ProcessLoadResult] = []
    with transaction.atomic():
        tools_by_slug = _tools_load(tools)
        records = {
            record.key: record
            for record in BuiltinRecord.objects.select_for_update().filter(source=BUILTIN_PROCESS)
        }
        for template in templates:
            record = records.get(template.slug)
            process, action = _process_load_one(template, tools_by_slug, record)
            written = action in ("created", "updated", "new_version_offered") or (
                # A database from before the ledger: the latest version came from this very
                # template, so that is what the loader wrote (people's edits since then show
                # up as a different shape, which protects them).
                action == "unchanged" and (record is None or record.digest == "")
            )
            if record is None:
                record = BuiltinRecord(source=BUILTIN_PROCESS, key=template.slug, digest="")
            if written and record.digest != shape_digest(template):
                record.digest = shape_digest(template)
                record.save()
            elif record.pk is None:
                record.save()
            results.append(
                ProcessLoadResult(
                    slug=template.slug,
                    process=process,
                    action=action,
                    stage_count=len(template.stages),
                    item_count=template.item_count,
                )
            )
    return results
