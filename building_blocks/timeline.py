"""The building blocks' entries in a deal's timeline (opportunities.timeline): blocks used on
the deal and the discovery links recorded for it."""

from __future__ import annotations

from django.urls import reverse

from building_blocks.models import BlockUsage, DiscoveryLink
from opportunities import timeline


def _uses(opportunity, before, limit):
    rows = BlockUsage.objects.filter(opportunity=opportunity)
    if before is not None:
        rows = rows.filter(at__lt=before)
    rows = rows.select_related("block", "stage", "user").only(
        "at",
        "block__title",
        "block__kind",
        "stage__name",
        "user__username",
        "user__first_name",
        "user__last_name",
    )
    for row in rows.order_by("-at", "-pk")[:limit]:
        yield timeline.Entry(
            kind="block",
            at=row.at,
            key=row.pk,
            title=f"Used “{row.block.title}”",
            detail=f"{row.block.get_kind_display()} in {row.stage.name}",
            who=row.user,
            url=reverse("building_blocks:block-detail", args=[row.block_id]),
            link_text="open block",
        )


def _discovery(opportunity, before, limit):
    rows = DiscoveryLink.objects.filter(opportunity=opportunity)
    if before is not None:
        rows = rows.filter(created_at__lt=before)
    rows = rows.select_related("challenge", "need", "created_by")
    for row in rows.order_by("-created_at", "-pk")[:limit]:
        yield timeline.Entry(
            kind="discovery",
            at=row.created_at,
            key=row.pk,
            title=f"Discovery: {row.challenge.title} → {row.need.title}",
            detail=row.impact_note,
            who=row.created_by,
            flags=(row.get_direction_display(), f"{row.get_priority_display()} priority"),
        )


def register() -> None:
    timeline.register("block", "Building blocks", _uses)
    timeline.register("discovery", "Discovery", _discovery)
