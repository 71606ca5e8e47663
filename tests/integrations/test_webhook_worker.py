"""Webhook deliveries through real Celery workers, a Redis of the test's own and PostgreSQL.

The Redis server here is started by the module on a free port so that a test may stop it and
start it again; workers are started and killed by pid. Nothing touches the machine's own
services. The receiver is a real HTTP server on loopback (pytest-httpserver) that records each
request's `webhook-id` as it arrives, before answering.
"""

import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from werkzeug import Response

from epos.models import OutboxMessage
from epos.tasks import outbox_sweep
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.tasks import webhooks_sweep
from integrations.webhooks.services import webhook_subscribe
from opportunities.services import opportunity_move_to_stage
from tests import factories
from tests.conftest import require_service
from tests.epos.test_stack import free_port
from tests.integrations.test_celery_worker import (
    database_url_of_test_database,
    publishing_to,
    start_solo_worker,
    stop_process,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

WAIT = 40.0
RECEIVER_TIMEOUT = 3  # seconds a receiver has; the lease is this plus five


# --- processes this module owns ---------------------------------------------------------------


class OwnRedis:
    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - the machine's redis-server binary
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                time.sleep(0.1)
        pytest.fail(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


class Workers:
    def __init__(self, broker_url: str, logs: Path):
        self.broker_url = broker_url
        self.logs = logs
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        env = {
            **os.environ,
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,
            "DATABASE_URL": database_url_of_test_database(),
            "CELERY_BROKER_URL": self.broker_url,
            "EPOS_WEBHOOK_ALLOW_PRIVATE": "1",
            "EPOS_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
            "EPOS_WEBHOOK_TIMEOUT": str(RECEIVER_TIMEOUT),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("REDIS_CACHE_URL", None)
        process = start_solo_worker(env, self.logs / f"worker-{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def log(self) -> str:
        return "\n".join(
            path.read_text(errors="replace") for path in sorted(self.logs.glob("worker-*.log"))
        )

    def stop_all(self) -> None:
        for process in self.processes:
            stop_process(process)


@pytest.fixture(scope="module")
def own_redis(django_db_setup, tmp_path_factory):
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "the workers need a shared database"
    )
    require_service("redis-server", shutil.which("redis-server") is not None, "not installed")
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workers(own_redis, tmp_path):
    if own_redis.process is None:
        own_redis.start()
    redis.Redis.from_url(own_redis.url).flushdb()
    group = Workers(own_redis.url, tmp_path)
    group.start()
    try:
        with publishing_to(own_redis.url):
            yield group
    finally:
        group.stop_all()


# --- a receiver that counts what arrives -------------------------------------------------------


@dataclass
class Receiver:
    answers: list = field(default_factory=list)  # (status, headers, delay) per request, in order
    arrivals: list = field(default_factory=list)  # (webhook-id, monotonic time)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request):
        with self.lock:
            self.arrivals.append((request.headers.get("webhook-id"), time.monotonic()))
            index = len(self.arrivals) - 1
        status, headers, delay = self.answers[index] if index < len(self.answers) else (200, {}, 0)
        if delay:
            time.sleep(delay)
        return Response("ok" if status < 300 else "no", status=status, headers=headers)

    def unique_ids(self) -> set[str]:
        return {webhook_id for webhook_id, _ in self.arrivals}


@pytest.fixture
def receiver(httpserver):
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver.handle)
    receiver.url = httpserver.url_for("/hook")
    return receiver


def subscribe(user, url, event="opportunity.stage_changed"):
    with override_private():
        subscription, _secret = webhook_subscribe(actor=user, target_url=url, event=event)
    return subscription


class override_private:
    def __enter__(self):
        self.saved = settings.EPOS_WEBHOOK_ALLOW_PRIVATE
        settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True

    def __exit__(self, *exc):
        settings.EPOS_WEBHOOK_ALLOW_PRIVATE = self.saved


def move(opportunity, stage):
    return opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stage, actor=None, override_reason="worker test"
    )


def wait_for(condition, what: str, workers: Workers, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout}s\n{workers.log()[-6000:]}")


def finished(status: str, count: int = 1):
    return lambda: WebhookDelivery.objects.filter(status=status).count() >= count


# --- tests -------------------------------------------------------------------------------------


def test_500_twice_then_200_succeeds_once_with_one_webhook_id(
    workers, receiver, alice, opportunity, stages
):
    receiver.answers = [(500, {}, 0), (500, {}, 0), (200, {}, 0)]
    subscribe(alice, receiver.url)

    move(opportunity, stages[1])

    wait_for(finished("succeeded"), "the delivery did not succeed", workers)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 3
    assert delivery.response_status == 200
    assert [webhook_id for webhook_id, _ in receiver.arrivals] == [delivery.webhook_id] * 3
    # Each retry waited its backoff (1 s, jittered by 20 %).
    times = [at for _, at in receiver.arrivals]
    assert all(later - earlier >= 0.75 for earlier, later in zip(times, times[1:], strict=False))


def test_410_deactivates_the_subscription(workers, receiver, alice, opportunity, stages):
    receiver.answers = [(410, {}, 0)]
    subscription = subscribe(alice, receiver.url)

    move(opportunity, stages[1])

    wait_for(finished("failed"), "the delivery did not fail", workers)
    subscription.refresh_from_db()
    assert subscription.status == WebhookSubscription.Status.GONE
    move(opportunity, stages[2])
    wait_for(
        lambda: OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == 0,
        "the second move was not dispatched",
        workers,
    )
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.arrivals) == 1


def test_429_waits_for_retry_after(workers, receiver, alice, opportunity, stages):
    receiver.answers = [(429, {"Retry-After": "3"}, 0), (200, {}, 0)]
    subscribe(alice, receiver.url)

    move(opportunity, stages[1])

    wait_for(finished("succeeded"), "the delivery did not succeed", workers)
    (first, _), (second, _) = receiver.arrivals
    assert first == second
    assert receiver.arrivals[1][1] - receiver.arrivals[0][1] >= 2.9


def test_nothing_is_lost_while_redis_is_down(
    workers, own_redis, receiver, caplog, alice, team, stages
):
    subscribe(alice, receiver.url)
    deals = [
        factories.OpportunityFactory(name=f"Deal {n}", stage=stages[0], owner=alice, team=team)
        for n in range(3)
    ]
    dispatched_before = set(
        OutboxMessage.objects.filter(dispatched_at__isnull=False).values_list("pk", flat=True)
    )

    own_redis.stop()
    for deal in deals:
        move(deal, stages[1])  # each commits; queuing the dispatch fails and is only logged
    assert "the sweeper will retry" in caplog.text
    pending = OutboxMessage.objects.filter(topic="opportunity.stage_changed")
    assert pending.filter(dispatched_at__isnull=True).count() == 3

    own_redis.start()
    # The sweeper takes messages that waited 30 s; these have, as far as it is concerned.
    pending.update(created_at=F("created_at") - timedelta(minutes=1))
    outbox_sweep.delay()

    wait_for(finished("succeeded", 3), "three deliveries did not succeed", workers)
    assert len(receiver.arrivals) == 3
    assert len(receiver.unique_ids()) == 3
    assert WebhookDelivery.objects.count() == 3
    assert dispatched_before.isdisjoint(pending.values_list("pk", flat=True))


def test_a_worker_killed_mid_delivery_is_replaced_and_the_event_counted_once(
    workers, receiver, alice, opportunity, stages
):
    # The first attempt is held by the receiver long enough to kill the worker making it.
    receiver.answers = [(200, {}, RECEIVER_TIMEOUT - 0.5)]
    subscribe(alice, receiver.url)

    move(opportunity, stages[1])
    wait_for(lambda: len(receiver.arrivals) == 1, "the first attempt did not arrive", workers)
    first = workers.processes[0]
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.SENDING

    workers.start()
    # The sweeper (beat runs it every 15 s) finds the attempt whose lease ran out.
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            pk=delivery.pk, next_attempt_at__lte=timezone.now()
        ).exists(),
        "the lease did not run out",
        workers,
        timeout=RECEIVER_TIMEOUT + 10,
    )
    webhooks_sweep.delay()

    wait_for(finished("succeeded"), "the event was not delivered after the kill", workers)
    assert len(receiver.arrivals) == 2
    assert receiver.unique_ids() == {delivery.webhook_id}
    delivery.refresh_from_db()
    assert delivery.attempts == 2
