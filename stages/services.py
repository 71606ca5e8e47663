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

from epos.lib.errors import InvalidInput
from stages.models import Process, Stage, StageItem, Tool
from stages.process_templates import (
    PROCESS_TEMPLATES,
    TOOLS,
    ItemDefinition,
    ProcessTemplate,
    StageDefinition,
    ToolDefinition,
)

LoadAction = Literal["created", "unchanged", "updated", "new_version"]

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
    process: Process
    action: LoadAction
    stage_count: int
    item_count: int


def template_digest(template: ProcessTemplate) -> str:
    """SHA-256 of the template's canonical JSON: equal digests mean nothing to load."""
    canonical = json.dumps(
        dataclasses.asdict(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


def _tools_upsert(tools: Sequence[ToolDefinition]) -> dict[str, Tool]:
    existing = {tool.slug: tool for tool in Tool.objects.filter(slug__in=[t.slug for t in tools])}
    by_slug: dict[str, Tool] = {}
    for definition in tools:
        values = {
            "name": definition.name,
            "url": definition.url,
            "description": definition.description,
        }
        tool = existing.get(definition.slug)
        if tool is None:
            tool = Tool(slug=definition.slug, **values)
            tool.full_clean()
            tool.save()
        elif any(getattr(tool, field) != value for field, value in values.items()):
            # Written only on a real difference, so an unchanged reload leaves no trace.
            for field, value in values.items():
                setattr(tool, field, value)
            tool.full_clean()
            tool.save(update_fields=list(values))
        by_slug[definition.slug] = tool
    return by_slug


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
        stage.tools.set([tools_by_slug[slug] for slug in definition.tools])
        _items_write(stage, definition.items)


def _process_load_one(
    template: ProcessTemplate, tools_by_slug: dict[str, Tool]
) -> tuple[Process, LoadAction]:
    digest = template_digest(template)
    # Locking the latest version serialises two loaders started together (two web containers
    # running their start-up command): the second sees the first one's result.
    latest = (
        Process.objects.select_for_update().filter(slug=template.slug).order_by("-version").first()
    )
    if latest is not None and latest.template_digest == digest:
        return latest, "unchanged"

    if latest is not None and not latest.opportunities.exists():
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
        status=Process.Status.ACTIVE,
        template_digest=digest,
        version=1 if latest is None else latest.version + 1,
        based_on=latest,
    )
    process.full_clean()
    process.save()
    _stages_write(process, template, tools_by_slug)
    if latest is None:
        return process, "created"
    # Deals keep pointing at the previous version and its stages, which stay exactly as they
    # were; only new deals pick the new version.
    latest.status = Process.Status.RETIRED
    latest.save(update_fields=["status"])
    return process, "new_version"


def processes_load_builtin(
    *,
    templates: Sequence[ProcessTemplate] | None = None,
    tools: Sequence[ToolDefinition] | None = None,
) -> list[ProcessLoadResult]:
    """Load the built-in process templates (or `templates`), idempotently.

    Per template: unknown slug → version 1 is created (active); same digest as the latest
    version → nothing changes; changed and the latest version has no opportunities → that
    version is rewritten in place; changed and it has opportunities → a new version based on
    it becomes active and the old one is retired. Every template is validated before anything
    is written, and everything happens in one transaction.
    """
    templates = PROCESS_TEMPLATES if templates is None else tuple(templates)
    tools = TOOLS if tools is None else tuple(tools)
    _validate(templates, tools)
    results: list[ProcessLoadResult] = []
    with transaction.atomic():
        tools_by_slug = _tools_upsert(tools)
        for template in templates:
            process, action = _process_load_one(template, tools_by_slug)
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
