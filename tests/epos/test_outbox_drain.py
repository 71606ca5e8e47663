"""The outbox's drain and how a web process asks for it (epos.outbox, epos.services)."""

import pytest

from epos import outbox
from epos.models import OutboxMessage
from epos.outbox import KICK_CLOCK_MARGIN_SECONDS, KICK_WINDOW_SECONDS, _Kicks
from epos.services import outbox_drain


def test_one_drain_at_once_then_one_at_the_end_of_the_window_then_none():
    kicks = _Kicks()
    assert kicks.countdown(100.0) == 0.0
    held = kicks.countdown(100.1)
    assert held == pytest.approx(KICK_WINDOW_SECONDS - 0.1 + KICK_CLOCK_MARGIN_SECONDS)
    # The drain asked for the window's end starts after anything committed before it.
    assert 100.1 + held > 100.0 + KICK_WINDOW_SECONDS
    assert kicks.countdown(100.2) is None
    assert kicks.countdown(100.0 + KICK_WINDOW_SECONDS) == 0.0


def test_a_failed_request_is_not_counted_on():
    kicks = _Kicks()
    assert kicks.countdown(5.0) == 0.0
    kicks.forget()
    assert kicks.countdown(5.01) == 0.0


@pytest.fixture
def consumed(monkeypatch):
    seen = []

    def consumer(message):
        if message.payload.get("fail"):
            raise RuntimeError("receiver down")
        seen.append(message.pk)

    monkeypatch.setattr(outbox, "_consumers", {"test": consumer})
    return seen


def test_the_drain_dispatches_every_waiting_message_once_in_order(db, consumed):
    messages = [
        OutboxMessage.objects.create(topic="opportunity.created", payload={"n": n})
        for n in range(5)
    ]
    already = OutboxMessage.objects.create(topic="opportunity.created", payload={"n": 9})
    outbox_drain(batch=200)
    consumed.clear()
    OutboxMessage.objects.filter(pk=already.pk).update(dispatched_at=None, attempts=3)
    more = [OutboxMessage.objects.create(topic="opportunity.won", payload={}) for _ in range(3)]

    dispatched = outbox_drain(batch=2)  # batches of two: the scan goes on past each batch

    assert dispatched == consumed == [message.pk for message in more]
    assert not OutboxMessage.objects.filter(pk__in=dispatched, dispatched_at__isnull=True)
    assert all(
        message.dispatched_at is not None
        for message in OutboxMessage.objects.filter(pk__in=[m.pk for m in messages])
    )
    # A message a consumer already failed on (attempts > 0) is the sweeper's, not the drain's.
    assert OutboxMessage.objects.get(pk=already.pk).dispatched_at is None
    assert outbox_drain() == []


def test_a_message_whose_consumer_fails_is_recorded_and_left_for_the_sweeper(db, consumed):
    failing = OutboxMessage.objects.create(topic="opportunity.created", payload={"fail": True})
    fine = OutboxMessage.objects.create(topic="opportunity.created", payload={})

    assert outbox_drain() == [fine.pk]

    failing.refresh_from_db()
    assert failing.dispatched_at is None
    assert failing.attempts == 1
    assert failing.last_error == "RuntimeError: receiver down"
    assert outbox_drain() == []
