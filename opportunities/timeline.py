"""One timeline per deal: everything that happened to it, newest first, from every app.

Each kind of entry comes from a *source*: a function that returns the newest entries of one
deal (before a moment, at most `limit`) in one query. This app registers its own (moves,
checklist ticks, activities, ESAT answers, product gaps); building blocks register theirs (block
uses, discovery) in their AppConfig.ready, and the sync jobs later theirs, without this module
importing any of them. `deal_timeline` merges the sources and keeps the newest `limit`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opportunities.models import (
    Activity,
    ChecklistCompletion,
    EsatResponse,
    Opportunity,
    ProductGap,
    StageTransition,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class Entry:
    kind: str
    at: datetime
    title: str
    key: int = 0  # the row's id: a stable order between entries of the same moment
    detail: str = ""
    who: Any = None  # a user (shown with display_name) or None for the system
    via: str = ""  # where it came from when not a person: "Google Calendar", "Zapier"
    url: str = ""
    link_text: str = ""
    flags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        source = SOURCES.get(self.kind)
        return source.label if source else self.kind

    @property
    def anchor(self) -> str:
        return f"tl-{self.kind}-{self.key}"


Fetch = Callable[[Opportunity, datetime | None, int], Iterable[Entry]]


@dataclass(frozen=True)
class Source:
    kind: str
    label: str
    fetch: Fetch


SOURCES: dict[str, Source] = {}


def register(kind: str, label: str, fetch: Fetch) -> None:
    """Add a kind of entry; registering a kind again replaces it (tests reload apps)."""
    SOURCES[kind] = Source(kind=kind, label=label, fetch=fetch)


@dataclass(frozen=True)
class SyncedLink:
    via: str  # the tool's name: "Vivun"
    url: Callable[[], Any]  # an expression: the record's URL in the tool; NULL if not synced


# Rows of this app another tool synced in (integrations) link back to the record there: by kind
# of entry, an expression the source's own query annotates, so the link costs no query.
SYNCED_LINKS: dict[str, SyncedLink] = {}


def register_synced_link(kind: str, *, via: str, url: Callable[[], Any]) -> None:
    SYNCED_LINKS[kind] = SyncedLink(via=via, url=url)


def _with_synced_link(kind: str, rows):
    link = SYNCED_LINKS.get(kind)
    return rows.annotate(synced_url=link.url()) if link else rows


def _synced(kind: str, row) -> tuple[str, str, str]:
    """(via, url, link text) of a row another tool synced in; empty ones otherwise."""
    url = getattr(row, "synced_url", None)
    if url is None:
        return "", "", ""
    via = SYNCED_LINKS[kind].via
    return via, url, f"open in {via}" if url else ""


def kinds() -> list[tuple[str, str]]:
    return [(source.kind, source.label) for source in SOURCES.values()]


def parse_kinds(values: Iterable[str]) -> list[str]:
    """The known kinds among `values`, in registration order; unknown ones are ignored."""
    wanted = {value for value in values if value}
    return [kind for kind in SOURCES if kind in wanted]


def deal_timeline(
    opportunity: Opportunity,
    *,
    kinds: Iterable[str] | None = None,
    before: datetime | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[Entry], bool]:
    """The newest `limit` entries (of `kinds`, all when None) strictly before `before`, and
    whether older ones exist. One query per source asked for."""
    chosen = [SOURCES[kind] for kind in (kinds if kinds else SOURCES) if kind in SOURCES]
    streams = [
        sorted(source.fetch(opportunity, before, limit + 1), key=_order) for source in chosen
    ]
    merged = list(heapq.merge(*streams, key=_order))
    return merged[:limit], len(merged) > limit


def _order(entry: Entry):
    return (-entry.at.timestamp(), entry.kind, -entry.key)


def _before(queryset, field_name: str, before: datetime | None):
    return queryset.filter(**{f"{field_name}__lt": before}) if before is not None else queryset


# --- this app's sources ------------------------------------------------------------------------


def _moves(opportunity, before, limit):
    rows = _before(
        StageTransition.objects.filter(opportunity=opportunity), "moved_at", before
    ).select_related("from_stage", "to_stage", "moved_by")
    for row in rows.order_by("-moved_at", "-pk")[:limit]:
        if row.from_stage is None:
            title = f"Created in {row.to_stage.name}"
        else:
            title = f"Moved {row.from_stage.name} → {row.to_stage.name}"
        details = []
        flags = ()
        if row.override_reason:
            flags = ("override",)
            details.append(f"Gate overridden: {row.override_reason}")
            if row.unmet_items:
                open_items = ", ".join(item.get("title", "") for item in row.unmet_items)
                details.append(f"Open then: {open_items}")
        if row.note:
            details.append(row.note)
        yield Entry(
            kind="move",
            at=row.moved_at,
            key=row.pk,
            title=title,
            detail="\n".join(details),
            who=row.moved_by,
            flags=flags,
        )


def _ticks(opportunity, before, limit):
    rows = _before(
        ChecklistCompletion.objects.filter(opportunity=opportunity, done=True),
        "done_at",
        before,
    ).select_related("item", "item__stage", "done_by")
    for row in rows.exclude(done_at=None).order_by("-done_at", "-pk")[:limit]:
        yield Entry(
            kind="checklist",
            at=row.done_at,
            key=row.pk,
            title=f"Done: {row.item.title}",
            detail=row.note,
            who=row.done_by,
            via="" if row.done_by_id or not row.auto_event_id else "evidence rule",
            url=row.evidence_url,
            link_text="evidence" if row.evidence_url else "",
            flags=(row.item.stage.name,) + (("auto",) if row.auto_event_id else ()),
        )


def _activities(opportunity, before, limit):
    rows = _before(
        Activity.objects.filter(opportunity=opportunity), "occurred_at", before
    ).select_related("created_by")
    for row in _with_synced_link("activity", rows).order_by("-occurred_at", "-pk")[:limit]:
        title = row.get_kind_display()
        if row.duration_minutes:
            title += f" · {row.duration_minutes} min"
        manual = row.source == Activity.Source.MANUAL
        _via, url, link_text = _synced("activity", row)
        yield Entry(
            kind="activity",
            at=row.occurred_at,
            key=row.pk,
            title=title,
            detail=row.summary,
            who=row.created_by,
            via="" if manual else row.get_source_display(),
            url=url,
            link_text=link_text,
        )


def _esat(opportunity, before, limit):
    rows = _before(
        EsatResponse.objects.filter(opportunity=opportunity), "received_at", before
    ).select_related("stage")
    for row in rows.order_by("-received_at", "-pk")[:limit]:
        where = f" after {row.stage.name}" if row.stage_id else ""
        yield Entry(
            kind="esat",
            at=row.received_at,
            key=row.pk,
            title=f"ESAT {row.score}/5{where}",
            detail=row.comment,
            via=row.respondent_email or row.get_source_display(),
            flags=("low",) if row.score <= 2 else (),
        )


def _gaps(opportunity, before, limit):
    rows = _before(
        ProductGap.objects.filter(opportunity=opportunity), "created_at", before
    ).select_related("created_by")
    for row in _with_synced_link("gap", rows).order_by("-created_at", "-pk")[:limit]:
        via, url, link_text = _synced("gap", row)
        yield Entry(
            kind="gap",
            at=row.created_at,
            key=row.pk,
            title=f"Product gap: {row.title}",
            detail=row.description,
            who=row.created_by,
            via=via,
            url=url,
            link_text=link_text,
            flags=(row.get_severity_display(), row.get_status_display()),
        )


def register_own_sources() -> None:
    register("move", "Stage moves", _moves)
    register("checklist", "Checklist", _ticks)
    register("activity", "Activities", _activities)
    register("esat", "ESAT", _esat)
    register("gap", "Product gaps", _gaps)
