"""A hostile or broken receiver: huge or endless bodies, silence, slow drip, odd Retry-After,
NUL bytes, long status lines; and a batch to one slow receiver outliving its lease."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from integrations.models import WebhookDelivery
from integrations.webhooks import services
from integrations.webhooks.client import EXCERPT_BYTES
from tests.security.support import (
    RawServer,
    deliver,
    make_delivery,
    make_event,
    make_subscription,
    read_request,
)

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
MAX_LAST_ERROR = WebhookDelivery._meta.get_field("last_error").max_length
MAX_EXCERPT = WebhookDelivery._meta.get_field("response_excerpt").max_length


@pytest.fixture
def loopback(settings):
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    settings.EPOS_WEBHOOK_TIMEOUT = 1
    return settings


@pytest.fixture
def raw_server():
    servers = []

    def start(handler):
        server = RawServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --- correctly handled (regression tests) -----------------------------------------------------


def test_a_huge_body_is_read_only_up_to_the_excerpt(alice, opportunity, httpserver, loopback):
    httpserver.expect_request("/hook").respond_with_data(b"A" * (5 * 1024 * 1024))
    subscription = make_subscription(alice, httpserver.url_for("/hook"))

    started = time.monotonic()
    delivery = deliver(subscription, make_event(opportunity))

    assert time.monotonic() - started < 3
    assert delivery.status == Status.SUCCEEDED
    assert delivery.response_excerpt == "A" * EXCERPT_BYTES


def test_an_endless_chunked_body_does_not_hold_the_worker(alice, opportunity, loopback, raw_server):
    def endless(conn, stopped):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"B" * 1024
        while not stopped.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    server = raw_server(endless)
    subscription = make_subscription(alice, server.url())

    started = time.monotonic()
    delivery = deliver(subscription, make_event(opportunity))

    assert time.monotonic() - started < 3
    assert delivery.status == Status.SUCCEEDED
    assert delivery.response_excerpt == "B" * EXCERPT_BYTES


def test_a_receiver_that_never_answers_times_out_and_is_retried(
    alice, opportunity, loopback, raw_server
):
    def silent(conn, stopped):
        read_request(conn)
        stopped.wait(10)

    server = raw_server(silent)
    subscription = make_subscription(alice, server.url())

    started = time.monotonic()
    delivery = deliver(subscription, make_event(opportunity))

    assert time.monotonic() - started < 3
    assert delivery.status == Status.PENDING
    assert "timed out" in delivery.last_error.lower()
    assert delivery.next_attempt_at > timezone.now()


@pytest.mark.parametrize(
    "retry_after",
    ["86400000", "Fri, 31 Dec 9999 23:59:59 GMT", " 99999999 "],
    ids=["1000-days", "year-9999", "padded-seconds"],
)
def test_a_huge_retry_after_is_capped_at_24_hours(
    alice, opportunity, httpserver, loopback, retry_after
):
    httpserver.expect_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": retry_after})
    )
    subscription = make_subscription(alice, httpserver.url_for("/hook"))

    before = timezone.now()
    delivery = deliver(subscription, make_event(opportunity))

    assert delivery.status == Status.PENDING
    assert delivery.response_status == 429
    wait = delivery.next_attempt_at - before
    assert timedelta(hours=24) <= wait <= timedelta(hours=24, seconds=5)


@pytest.mark.parametrize(
    "retry_after", ["-5", "soon", "Thu, 01 Jan 1970 00:00:00 GMT"], ids=["negative", "word", "past"]
)
def test_a_meaningless_retry_after_falls_back_to_the_schedule(
    alice, opportunity, httpserver, loopback, retry_after
):
    httpserver.expect_request("/hook").respond_with_response(
        Response("busy", status=503, headers={"Retry-After": retry_after})
    )
    subscription = make_subscription(alice, httpserver.url_for("/hook"))

    before = timezone.now()
    delivery = deliver(subscription, make_event(opportunity))

    assert delivery.status == Status.PENDING
    # The first scheduled retry: 5 s, jittered by ±20 %.
    assert timedelta(seconds=3.9) <= delivery.next_attempt_at - before <= timedelta(seconds=7)


# --- FINDINGS -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after",
    ["99999999999999999999", "\u00b2"],
    ids=["overflowing-seconds", "superscript-two"],
)
def test_an_absurd_retry_after_neither_crashes_the_worker_nor_strands_the_delivery(
    alice, opportunity, httpserver, loopback, retry_after
):
    """`value.isdigit()` then `timedelta(seconds=int(value))`: a number past timedelta's range
    raises OverflowError, and "²" (isdigit() is True, int() refuses it) raises ValueError. Either
    escapes webhook_deliver_batch: the delivery stays `sending`, is re-claimed after every lease
    and retried forever (never given up), and the rest of its batch is never attempted."""
    httpserver.expect_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": retry_after})
    )
    subscription = make_subscription(alice, httpserver.url_for("/hook"))
    delivery = make_delivery(subscription, make_event(opportunity))

    before = timezone.now()
    services.webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.PENDING
    assert delivery.response_status == 429
    assert delivery.next_attempt_at - before <= timedelta(hours=24, seconds=5)


def test_a_slow_drip_receiver_cannot_hold_a_worker_past_the_timeout(
    alice, opportunity, loopback, raw_server
):
    """The timeout is per socket read, not a deadline: a receiver that sends a header byte every
    0.4 s keeps the attempt (and the worker, and every delivery queued behind it in the batch)
    busy for as long as it likes, far past EPOS_WEBHOOK_TIMEOUT and the delivery's lease."""

    def drip(conn, stopped):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not stopped.is_set():
            conn.sendall(b"X-Drip: 1\r\n")
            time.sleep(0.4)
        conn.sendall(b"Content-Length: 0\r\n\r\n")

    server = raw_server(drip)
    subscription = make_subscription(alice, server.url())

    started = time.monotonic()
    deliver(subscription, make_event(opportunity))
    elapsed = time.monotonic() - started

    # Timeout is 1 s; allow connect + a generous margin.
    assert elapsed < 4, f"one attempt took {elapsed:.1f} s with a 1 s timeout"


def test_a_batch_to_one_slow_receiver_is_attempted_within_its_lease(
    alice, opportunity, loopback, raw_server
):
    """All deliveries of a batch are claimed at once with a lease of TIMEOUT + 5 s, then sent one
    after another. Eight subscriptions to a receiver that never answers (Zapier's one host having
    a bad minute) take 8 x 1 s: the last ones are sent after their lease ran out, when the sweeper
    may already have handed them to another worker (duplicate sends, outcomes thrown away)."""

    def silent(conn, stopped):
        read_request(conn)
        stopped.wait(15)

    server = raw_server(silent)
    message = make_event(opportunity)
    deliveries = [
        make_delivery(make_subscription(alice, server.url(f"/hook/{n}")), message) for n in range(8)
    ]
    lease = services.settings.EPOS_WEBHOOK_TIMEOUT + services.LEASE_MARGIN.total_seconds()

    claimed_at = time.monotonic()
    services.webhook_deliver_batch(delivery_ids=[d.pk for d in deliveries])

    assert len(server.accepted) == 8
    late = [round(at - claimed_at, 1) for at in server.accepted if at - claimed_at >= lease]
    assert late == [], f"attempts started after the {lease:.0f} s lease had expired: {late}"


def test_a_nul_byte_in_the_answer_is_not_stored(alice, opportunity, httpserver, loopback):
    """PostgreSQL text cannot hold NUL: saving this excerpt raises there, the attempt's outcome is
    never written, and the delivery is re-claimed and re-sent forever (SQLite stores it)."""
    httpserver.expect_request("/hook").respond_with_data(b"ok\x00and more")
    subscription = make_subscription(alice, httpserver.url_for("/hook"))

    delivery = deliver(subscription, make_event(opportunity))

    assert delivery.status == Status.SUCCEEDED
    assert "\x00" not in delivery.response_excerpt
    assert delivery.response_excerpt.startswith("ok")


def test_a_long_bad_status_line_does_not_overflow_last_error(
    alice, opportunity, loopback, raw_server
):
    """The network error (which quotes the receiver's status line) is cut to 500 characters, and
    then "; given up after N attempts." is appended: 528 characters for a varchar(500) column,
    which PostgreSQL refuses, stranding the delivery in `sending`."""
    loopback.EPOS_WEBHOOK_RETRY_SCHEDULE = []  # give up after the first failure

    def garbage(conn, stopped):
        read_request(conn)
        conn.sendall(b"Z" * 2000 + b"\r\n\r\n")

    server = raw_server(garbage)
    subscription = make_subscription(alice, server.url())

    delivery = deliver(subscription, make_event(opportunity))

    assert delivery.status == Status.FAILED
    assert "given up after 1 attempts" in delivery.last_error
    assert len(delivery.last_error) <= MAX_LAST_ERROR
    assert len(delivery.response_excerpt) <= MAX_EXCERPT
