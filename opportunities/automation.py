"""Checklist items that complete themselves from their evidence.

A stage item may name the event that proves it done (`StageItem.evidence_event`) and a condition
on that event's data (`evidence_condition`): {"kind": "demo"} matches an equal value,
{"min_score": 4} a value at least that high. When such an event is published for a deal (the
outbox: `esat.sent` when a survey goes out, `activity.recorded`, `gap.recorded`,
`building_block.used`, `discovery.recorded`, `esat.received`, `qualification.recorded` with its
BANT answers and verdict, and the sync jobs' events), this
consumer completes the matching open items of the deal's current stage, and of the stage the
event names, in its own transaction, with the evidence linked and the event's id kept.

Idempotent on the event: an item an event completed is never completed by it again, also after
someone unticked it (with a reason, `services.checklist_item_set`).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from epos.models import OutboxMessage
from opportunities.models import ChecklistCompletion, Opportunity
from stages.models import EVIDENCE_EVENTS, StageItem

# What the timeline and the item say completed it, by event.
EVIDENCE_NAMES = {
    "esat.sent": "the ESAT survey sent",
    "esat.received": "an ESAT answer",
    "activity.recorded": "an activity",
    "gap.recorded": "a product gap",
    "building_block.used": "a building block used",
    "discovery.recorded": "discovery recorded",
    "document.created": "a document created",
    "deliverable.synced": "a deliverable from Vivun",
    "qualification.recorded": "the qualification's answers",
}


def condition_holds(condition: dict, data: dict) -> bool:
    """{"kind": "demo"}: the event's `kind` is "demo"; {"kind": ["call", "meeting"]}: one of
    them; {"min_score": 4}: its `score` is at least 4."""
    for key, wanted in (condition or {}).items():
        if isinstance(wanted, list):
            if data.get(key) not in wanted:
                return False
        elif key.startswith("min_"):
            value = data.get(key[4:])
            if value is None or value < wanted:
                return False
        elif data.get(key) != wanted:
            return False
    return True


def complete_from_evidence(message) -> int:
    """The outbox consumer: complete what this event proves; returns how many items."""
    if message.topic not in EVIDENCE_EVENTS:
        return 0
    data = message.payload or {}
    deal_id = data.get("opportunity_id")
    if deal_id is None:
        return 0
    with transaction.atomic():
        deal = Opportunity.objects.select_for_update().filter(pk=deal_id).first()
        if deal is None or deal.outcome != Opportunity.Outcome.OPEN:
            return 0
        stage_ids = {deal.stage_id, data.get("stage_id") or deal.stage_id}
        items = [
            item
            for item in StageItem.objects.filter(
                stage_id__in=stage_ids, stage__process_id=deal.process_id
            ).filter(evidence_event=message.topic)
            if condition_holds(item.evidence_condition, data)
        ]
        if not items:
            return 0
        existing = {
            completion.item_id: completion
            for completion in ChecklistCompletion.objects.select_for_update().filter(
                opportunity=deal, item__in=items
            )
        }
        now = timezone.now()
        note = f"Completed automatically by {EVIDENCE_NAMES[message.topic]} (event {message.pk})."
        completed = 0
        for item in items:
            completion = existing.get(item.pk) or ChecklistCompletion(opportunity=deal, item=item)
            if completion.done or completion.auto_event_id == message.pk:
                continue  # done already, or this very event ticked it before (and was unticked)
            completion.done, completion.done_at, completion.done_by = True, now, None
            completion.evidence_url = data.get("evidence_url", "")[:500]
            completion.note, completion.auto_event_id = note, message.pk
            completion.save()
            completed += 1
    return completed


def rule_preview(item: StageItem, *, days: int = 90) -> int:
    """On how many open deals in the item's stage its evidence rule would have completed it
    from the events of the last `days` days (deals that have it done already left out): what
    a curator sees before saving a rule."""
    if not item.evidence_event:
        return 0
    deals = set(
        Opportunity.objects.filter(stage_id=item.stage_id, outcome=Opportunity.Outcome.OPEN)
        .exclude(checklist__item=item, checklist__done=True)
        .values_list("pk", flat=True)
    )
    if not deals:
        return 0
    since = timezone.now() - timedelta(days=days)
    events = OutboxMessage.objects.filter(
        topic=item.evidence_event, created_at__gte=since, payload__opportunity_id__in=deals
    ).values_list("payload", flat=True)
    return len(
        {
            data["opportunity_id"]
            for data in events.iterator()
            if condition_holds(item.evidence_condition, data)
        }
    )
