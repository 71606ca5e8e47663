"""The outbox: the one place domain services announce events to the outside world.

A message is written in the caller's transaction; once that commits, the dispatcher task is
queued. If queuing fails (broker down), the beat sweeper picks the message up later.

The dispatcher hands each message to the consumers registered here (webhook fan-out, later the
checklist automation). The apps that own a consumer register it from `AppConfig.ready()`, so the
platform layer never imports the apps above it.
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from epos.models import OutboxMessage

logger = logging.getLogger(__name__)

TOPICS = (
    "opportunity.created",
    "opportunity.stage_changed",
    "opportunity.won",
    "opportunity.lost",
    "esat.received",
    "building_block.published",
)
# Events the apps announce to each other (the checklist automation): in the outbox like the
# others, not offered to webhook subscribers.
INTERNAL_TOPICS = (
    "esat.sent",
    "activity.recorded",
    "gap.recorded",
    "building_block.used",
    "discovery.recorded",
    "qualification.recorded",
    "deliverable.synced",
    "document.created",
)


Consumer = Callable[[OutboxMessage], None]
_consumers: dict[str, Consumer] = {}


def register_consumer(name: str, consumer: Consumer) -> None:
    """Register `consumer(message)`, called inside the dispatcher's transaction for every message.

    A consumer must be idempotent on `message.pk`: the sweeper may hand a message over again when
    the worker that first took it died before committing.
    """
    _consumers[name] = consumer


def registered_consumers() -> list[tuple[str, Consumer]]:
    return sorted(_consumers.items())


_quiet: ContextVar[bool] = ContextVar("outbox_quiet", default=False)


@contextmanager
def outbox_quiet():
    """Record events without announcing them: for replaying history (demo data, imports), which
    must not fire webhooks or create Drive folders for deals that closed long ago."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def outbox_publish(*, topic: str, payload: dict) -> OutboxMessage:
    if topic not in TOPICS and topic not in INTERNAL_TOPICS:
        raise ValueError(f"Unknown outbox topic {topic!r}")
    if _quiet.get():
        return OutboxMessage.objects.create(
            topic=topic, payload=payload, dispatched_at=timezone.now()
        )
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message


def _enqueue(message_id: int) -> None:
    from epos.tasks import outbox_dispatch

    try:
        outbox_dispatch.delay(message_id)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the user's request
        logger.warning("Could not queue outbox message %s; the sweeper will retry", message_id)
