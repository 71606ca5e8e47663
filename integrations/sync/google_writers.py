"""What the Google sources yield, written into EPOS: Drive files (with their evidence) and
calendar events as activities. Each writer runs inside the caller's transaction.

Calendar events are keyed on the Activity `(source, external_id)` unique constraint with
`external_id = "<owner id>:<event id>"` (one activity per SA per meeting), written in batches
with `bulk_create` / `bulk_update`: a full sync brings thousands of events at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from integrations.models import Connection, DriveFile
from integrations.sync.google_calendar import CalendarEvent, CalendarListed
from integrations.sync.google_drive import EVIDENCE_TOPIC, DocumentReady, FolderReady
from integrations.sync.ports import RowProblem
from opportunities.models import Activity, Opportunity
from opportunities.services import evidence_publish
from stages.models import StageItem

BATCH = 1000
MAX_REPORTED_ERRORS = 500
MAX_EXTERNAL_ID = 200
ACTIVITY_FIELDS = ("opportunity_id", "kind", "occurred_at", "duration_minutes", "summary")


@dataclass
class Outcome:
    counts: dict = field(
        default_factory=lambda: dict.fromkeys(
            ("created", "updated", "unchanged", "deleted", "skipped", "failed"), 0
        )
    )
    errors: list = field(default_factory=list)

    def fail(self, item, reason: str) -> None:
        self.counts["failed"] += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": item, "reason": reason})

    def close(self) -> Outcome:
        hidden = self.counts["failed"] - len(self.errors)
        if hidden > 0:
            self.errors.append({"row": "…", "reason": f"and {hidden} more failed"})
        return self


# --- Drive ------------------------------------------------------------------------------------


class DriveWriter:
    """Records the folders and documents Drive has; a new document is announced as evidence."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.outcome = Outcome()
        self.new_documents = 0

    def write_all(self, items) -> Outcome:
        announced = []
        for item in items:
            if isinstance(item, FolderReady):
                self._record(item, DriveFile.Kind.FOLDER, {"opportunity_id": item.opportunity_id})
            elif isinstance(item, DocumentReady):
                key = {"opportunity_id": item.opportunity_id, "item_id": item.item_id}
                if self._record(item, DriveFile.Kind.DOCUMENT, key):
                    announced.append(item)
        self._announce(announced)
        self.new_documents += len(announced)
        return self.outcome.close()

    def _record(self, ready, kind: str, key: dict) -> bool:
        """Create or repoint the row; True when it names a file it did not name before."""
        values = {
            "file_id": ready.file_id,
            "name": ready.name[:300],
            "url": ready.url,
            "connection": self.connection,
        }
        if isinstance(ready, DocumentReady):
            values |= {"stage_id": ready.stage_id, "template_id": ready.template_id}
        row, created = DriveFile.objects.get_or_create(kind=kind, **key, defaults=values)
        if created:
            self.outcome.counts["created"] += 1
            return True
        if row.file_id == ready.file_id:
            self.outcome.counts["unchanged"] += 1
            return False
        # The file was trashed in Drive and made again: point at the new one.
        for name, value in values.items():
            setattr(row, name, value)
        row.save(update_fields=[*values])
        self.outcome.counts["updated"] += 1
        return True

    def _announce(self, documents: list[DocumentReady]) -> None:
        if not documents:
            return
        deals = Opportunity.objects.only("pk", "stage_id").in_bulk(
            {document.opportunity_id for document in documents}
        )
        for document in documents:
            evidence_publish(
                EVIDENCE_TOPIC,
                deals[document.opportunity_id],
                stage_id=document.stage_id,
                item_id=document.item_id,
                item_title=document.item_title,
                template_id=document.template_id,
                file_id=document.file_id,
                name=document.name,
                evidence_url=document.url,
                source="google_drive",
            )


# --- Calendar ---------------------------------------------------------------------------------


def external_id(owner_id: int, event_id: str) -> str:
    value = f"{owner_id}:{event_id}"
    if len(value) <= MAX_EXTERNAL_ID:
        return value
    return f"{owner_id}:sha256:{hashlib.sha256(event_id.encode()).hexdigest()}"


class CalendarWriter:
    """Upserts calendar events as activities of the deals they are linked to."""

    def __init__(self, connection: Connection | None = None):
        self.connection = connection
        self.outcome = Outcome()
        self.batch: list[CalendarEvent] = []
        # owner id → external ids of the events listed (for the full sync's clean-up)
        self.listed: dict[int, set[str]] = {}
        self.announced: set[tuple] = set()  # (deal, stage, kind) announced in this run

    def write_all(self, items) -> Outcome:
        for item in items:
            if isinstance(item, RowProblem):
                self.outcome.fail(item.line, item.reason)
            elif isinstance(item, CalendarListed):
                self._flush()
                self._remove_unlisted(item.owner_id)
            else:
                self.batch.append(item)
                if not item.cancelled:
                    self.listed.setdefault(item.owner_id, set()).add(
                        external_id(item.owner_id, item.event_id)
                    )
                if len(self.batch) >= BATCH:
                    self._flush()
        self._flush()
        return self.outcome.close()

    # linking events to deals

    def _deals(self, events: list[CalendarEvent]) -> tuple[set[int], dict[str, list[dict]]]:
        """(ids of the deals the tags name that exist, domain → the deals of its accounts)."""
        tagged = {deal_id for event in events for deal_id in event.tags}
        existing = set(Opportunity.objects.filter(pk__in=tagged).values_list("pk", flat=True))
        domains = {domain for event in events if not event.tags for domain in event.domains}
        by_domain: dict[str, list[dict]] = {}
        if domains:
            starts = [event.start for event in events if event.start is not None]
            rows = (
                Opportunity.objects.filter(account__domain__in=domains)
                .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=min(starts)))
                .values("pk", "account__domain", "owner_id", "closed_at")
            )
            for row in rows:
                by_domain.setdefault(row["account__domain"], []).append(row)
        return existing, by_domain

    @staticmethod
    def _by_domain(event: CalendarEvent, by_domain: dict) -> int | None:
        """The one deal open at the meeting's time among the attendees' accounts (the owner's
        own deals first); None when there is none, or several (a guess would be wrong)."""
        candidates = {
            row["pk"]: row
            for domain in event.domains
            for row in by_domain.get(domain, ())
            if row["closed_at"] is None or row["closed_at"] >= event.start
        }
        own = [pk for pk, row in candidates.items() if row["owner_id"] == event.owner_id]
        choice = own or list(candidates)
        return choice[0] if len(choice) == 1 else None

    def _link(self, event: CalendarEvent, existing: set[int], by_domain: dict):
        """(deal id or None, a failure to report or "")."""
        if event.tags:
            deal_id = next((pk for pk in event.tags if pk in existing), None)
            if deal_id is None:
                return None, f"its tag names EPOS-{event.tags[0]}, and no such deal exists"
            return deal_id, ""
        return self._by_domain(event, by_domain), ""

    # writing

    def _flush(self) -> None:
        if not self.batch:
            return
        events, self.batch = self.batch, []
        unique: dict[str, CalendarEvent] = {}
        for event in events:
            unique[external_id(event.owner_id, event.event_id)] = event  # the last change wins
        current = {
            activity.external_id: activity
            for activity in Activity.objects.filter(
                source=Activity.Source.GOOGLE_CALENDAR, external_id__in=unique
            ).only("pk", "external_id", *ACTIVITY_FIELDS)
        }
        live = [event for event in unique.values() if not event.cancelled]
        existing, by_domain = self._deals(live) if live else (set(), {})
        new, changed, gone = [], [], []
        for key, event in unique.items():
            activity = current.get(key)
            deal_id, problem = None, ""
            if not event.cancelled:
                deal_id, problem = self._link(event, existing, by_domain)
            if problem:
                self.outcome.fail(event.line, problem)
            if deal_id is None:
                # Cancelled, declined, or not (or no longer) about a deal: no activity.
                if activity is not None:
                    gone.append(activity.pk)
                elif not problem:
                    self.outcome.counts["skipped"] += 1
                continue
            values = {
                "opportunity_id": deal_id,
                "kind": event.kind,
                "occurred_at": event.start,
                "duration_minutes": event.duration_minutes,
                "summary": event.title,
            }
            if activity is None:
                new.append(
                    Activity(
                        **values,
                        source=Activity.Source.GOOGLE_CALENDAR,
                        external_id=key,
                        created_by_id=event.owner_id,
                    )
                )
            elif all(getattr(activity, name) == value for name, value in values.items()):
                self.outcome.counts["unchanged"] += 1
            else:
                for name, value in values.items():
                    setattr(activity, name, value)
                changed.append(activity)
        if gone:
            Activity.objects.filter(pk__in=gone).delete()
        Activity.objects.bulk_create(new, batch_size=BATCH)
        if changed:
            Activity.objects.bulk_update(changed, list(ACTIVITY_FIELDS), batch_size=BATCH)
        self._announce(new)
        self.outcome.counts["created"] += len(new)
        self.outcome.counts["updated"] += len(changed)
        self.outcome.counts["deleted"] += len(gone)

    def _announce(self, activities: list[Activity]) -> None:
        """`activity.recorded` for new meetings held in their open deal's current stage, as a
        recorded activity announces itself: the checklist automation may tick "Hold the
        discovery call" from it. Meetings still to come, or from an earlier stage, prove
        nothing about this one. One event per deal and kind of meeting in a run is all the
        automation can use, and only for a stage whose items listen to that event (a first
        sync brings months of meetings)."""
        now = timezone.now()
        held = [activity for activity in activities if activity.occurred_at <= now]
        if not held:
            return
        deals = Opportunity.objects.only("pk", "stage_id", "stage_entered_at", "outcome").in_bulk(
            {activity.opportunity_id for activity in held}
        )
        listening = set(
            StageItem.objects.filter(
                stage_id__in={deal.stage_id for deal in deals.values()},
                evidence_event="activity.recorded",
            ).values_list("stage_id", flat=True)
        )
        for activity in sorted(held, key=lambda row: row.occurred_at, reverse=True):
            deal = deals[activity.opportunity_id]
            key = (deal.pk, deal.stage_id, activity.kind)
            if (
                key in self.announced
                or deal.stage_id not in listening
                or deal.outcome != Opportunity.Outcome.OPEN
                or activity.occurred_at < deal.stage_entered_at
            ):
                continue
            self.announced.add(key)
            evidence_publish(
                "activity.recorded",
                deal,
                activity_id=activity.pk,
                kind=activity.kind,
                source=activity.source,
            )

    def _remove_unlisted(self, owner_id: int) -> None:
        """After a full listing: activities of this owner's events Google no longer has."""
        listed = self.listed.pop(owner_id, set())
        mine = Activity.objects.filter(
            source=Activity.Source.GOOGLE_CALENDAR, external_id__startswith=f"{owner_id}:"
        ).values_list("pk", "external_id")
        gone = [pk for pk, key in mine if key not in listed]
        for start in range(0, len(gone), BATCH):
            Activity.objects.filter(pk__in=gone[start : start + BATCH]).delete()
        self.outcome.counts["deleted"] += len(gone)
