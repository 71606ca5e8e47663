"""The outbox: the one place domain services announce events to the outside world.

A message is written in the caller's transaction; once that commits, a worker is asked to drain
the outbox (dispatch every message waiting for its first attempt). Asking costs a broker round
trip, so a web process asks at most once per `KICK_WINDOW_SECONDS` plus once at the end of a
window in which it held requests back: under load one drain carries many messages, an isolated
event is dispatched at once. If asking fails (broker down), the beat sweeper picks the message
up later. With tasks in-process (no broker) each message is dispatched as it commits.

The dispatcher hands each message to the consumers registered here (webhook fan-out, later the
checklist automation). The apps that own a consumer register it from `AppConfig.ready()`, so the
platform layer never imports the apps above it.
"""

import logging
import threading
import time
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


KICK_WINDOW_SECONDS = 0.5
# The trailing drain's start is judged by the worker's clock: a little later than the window's
# end covers a worker clock slightly ahead of this one.
KICK_CLOCK_MARGIN_SECONDS = 0.05


class _Kicks:
    """When this process last asked for a drain. A drain that starts after a message committed
    dispatches it, so a message committed inside a window whose trailing drain is already
    asked for needs no request of its own: that drain starts after the window ends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._window_ends = float("-inf")
        self._trailing_asked = False

    def countdown(self, now: float) -> float | None:
        """Seconds until the drain to ask for now (0: at once), or None: one is already due."""
        with self._lock:
            if now >= self._window_ends:
                self._window_ends, self._trailing_asked = now + KICK_WINDOW_SECONDS, False
                return 0.0
            if self._trailing_asked:
                return None
            self._trailing_asked = True
            return self._window_ends - now + KICK_CLOCK_MARGIN_SECONDS

    def forget(self) -> None:
        """Asking failed: the next commit asks again instead of counting on this one."""
        with self._lock:
            self._window_ends, self._trailing_asked = float("-inf"), False


_kicks = _Kicks()


def _enqueue(message_id: int) -> None:
    from epos.tasks import outbox_dispatch, outbox_drain

    try:
        if outbox_drain.app.conf.task_always_eager:
            outbox_dispatch.delay(message_id)
            return
        countdown = _kicks.countdown(time.monotonic())
        if countdown is not None:
            outbox_drain.apply_async(countdown=countdown or None)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the user's request
        _kicks.forget()
        logger.warning("Could not queue outbox message %s; the sweeper will retry", message_id)
