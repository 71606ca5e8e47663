"""The sync jobs' part of a deal's timeline (opportunities.timeline): activities and product gaps
synced from Vivun link back to their record there, and Vivun's deliverables are entries of
their own."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from integrations.models import Connection, SyncedItem
from opportunities import timeline

VIVUN = Connection.System.VIVUN


def _record_url(kind: str):
    def url():
        # NULL when the row was not synced, "" when it was but the source gave no link.
        items = SyncedItem.objects.filter(system=VIVUN, kind=kind, object_id=OuterRef("pk"))
        return Subquery(items.values("url")[:1])

    return url


def _deliverables(opportunity, before, limit):
    rows = SyncedItem.objects.filter(opportunity=opportunity, kind=SyncedItem.Kind.DELIVERABLE)
    if before is not None:
        rows = rows.filter(occurred_at__lt=before)
    for row in rows.select_related("person").order_by("-occurred_at", "-pk")[:limit]:
        via = row.get_system_display()
        yield timeline.Entry(
            kind="deliverable",
            at=row.occurred_at,
            key=row.pk,
            title=f"Deliverable: {row.title}",
            who=row.person,
            via=via,
            url=row.url,
            link_text=f"open in {via}" if row.url else "",
            flags=(row.detail, "Done" if row.status == "done" else "In progress"),
        )


def register() -> None:
    label = Connection.System.VIVUN.label
    timeline.register_synced_link("activity", via=label, url=_record_url(SyncedItem.Kind.ACTIVITY))
    timeline.register_synced_link("gap", via=label, url=_record_url(SyncedItem.Kind.PRODUCT_GAP))
    timeline.register("deliverable", "Deliverables", _deliverables)
