"""What a subscriber receives: one event as JSON, the same shape in the feed and in deliveries,
and only about objects the subscriber may see."""

from django.db.models import BigIntegerField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from building_blocks.models import BuildingBlock
from building_blocks.permissions import block_visibility_q, can_view_block
from epos.models import OutboxMessage
from epos.outbox import TOPICS
from opportunities.models import Opportunity
from opportunities.permissions import can_view_opportunity, opportunity_visibility_q

BLOCK_TOPICS = frozenset({"building_block.published"})
OPPORTUNITY_TOPICS = frozenset(TOPICS) - BLOCK_TOPICS


def event_body(message: OutboxMessage) -> dict:
    return {
        "id": message.pk,
        "type": message.topic,
        "timestamp": message.created_at.isoformat().replace("+00:00", "Z"),
        "data": message.payload,
    }


def may_see_event(user, message: OutboxMessage) -> bool:
    """Whether `user` may hear of this event now (the object may have moved teams since)."""
    if not user.is_active:
        return False
    if message.topic in BLOCK_TOPICS:
        if block_visibility_q(user) is None:
            return True
        block = BuildingBlock.objects.filter(pk=message.payload.get("block_id")).first()
        return block is not None and can_view_block(user, block)
    if opportunity_visibility_q(user) is None:
        return True  # admins and curators read every deal
    opportunity = (
        Opportunity.objects.only("pk", "team_id", "owner_id", "account_executive_id")
        .filter(pk=message.payload.get("opportunity_id"))
        .first()
    )
    return opportunity is not None and can_view_opportunity(user, opportunity)


def events_visible_to(user, *, topic: str | None = None) -> QuerySet[OutboxMessage]:
    """The events feed: announced events the user may see, newest first.

    Replayed history (demo data, imports) is recorded without being announced and stays out.
    """
    messages = OutboxMessage.objects.filter(topic__in=TOPICS).exclude(
        attempts=0, dispatched_at__isnull=False
    )
    if topic:
        messages = messages.filter(topic=topic)
    opportunity_scope = opportunity_visibility_q(user)
    block_scope = block_visibility_q(user)
    visible = Q()
    if opportunity_scope is None:
        visible |= Q(topic__in=OPPORTUNITY_TOPICS)
    else:
        messages = messages.annotate(
            _opportunity_id=Cast(KeyTextTransform("opportunity_id", "payload"), BigIntegerField())
        )
        visible |= Q(
            topic__in=OPPORTUNITY_TOPICS,
            _opportunity_id__in=Opportunity.objects.filter(opportunity_scope).values("pk"),
        )
    if block_scope is None:
        visible |= Q(topic__in=BLOCK_TOPICS)
    else:
        messages = messages.annotate(
            _block_id=Cast(KeyTextTransform("block_id", "payload"), BigIntegerField())
        )
        visible |= Q(
            topic__in=BLOCK_TOPICS,
            _block_id__in=BuildingBlock.objects.filter(block_scope).values("pk"),
        )
    return messages.filter(visible).order_by("-created_at", "-id")
