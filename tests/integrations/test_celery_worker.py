"""The outbox against a real Celery worker process, Redis and PostgreSQL.

The worker is a separate `celery -A epos worker` process on a Redis database of its own, pointed
at the test database; tests here commit for real (transactional) so the worker can see the rows.
The test process publishes to that Redis database only inside these tests; the rest of the
suite keeps the broker configuration it had.
"""

import logging
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import F

from epos.celery import app as celery_app
from epos.models import OutboxMessage
from epos.tasks import outbox_sweep
from opportunities.services import opportunity_create
from tests.conftest import require_service

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

DISPATCH_TIMEOUT = 30.0
UNREACHABLE_BROKER = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


# --- services -----------------------------------------------------------------------------------


def redis_server_url() -> str:
    """The Redis server of CELERY_BROKER_URL when it is one, else the local default."""
    configured = os.environ.get("CELERY_BROKER_URL", "")
    parts = urlsplit(configured if configured.startswith("redis://") else "redis://127.0.0.1:6379")
    return f"redis://{parts.netloc}"


def redis_available(url: str) -> tuple[bool, str]:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return False, f"{url}: {exc}"
    return True, ""


def claim_redis_database(server_url: str, owner: str) -> int:
    """Claim an empty Redis database (14 down to 8) so concurrent runs never share a queue.

    Database 15 is left to the benchmark (bench/run.py).
    """
    for number in range(14, 7, -1):
        client = redis.Redis.from_url(f"{server_url}/{number}")
        if client.dbsize() == 0 and client.set("epos:test-claim", owner, nx=True, ex=900):
            return number
    pytest.fail(f"no empty Redis database among 8-14 on {server_url}")


def database_url_of_test_database() -> str:
    params = connection.settings_dict
    credentials = quote(params["USER"] or "", safe="")
    if params.get("PASSWORD"):
        credentials += ":" + quote(params["PASSWORD"], safe="")
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{credentials}@{host}:{port}/{params['NAME']}"


def stop_process(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)


WORKER_COMMAND = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "epos",
    "worker",
    "--pool=solo",
    "--loglevel=INFO",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
]


def start_solo_worker(env: dict, log_path) -> subprocess.Popen:
    """A `celery worker` process of this test run (one task at a time), logging to `log_path`."""
    with log_path.open("w") as log_file:
        return subprocess.Popen(  # noqa: S603 - our own interpreter running celery
            WORKER_COMMAND,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


class Worker:
    def __init__(self, process: subprocess.Popen, broker_url: str, log_path):
        self.process = process
        self.broker_url = broker_url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"the worker exited:\n{self.log()}"


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):
    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "the worker needs a shared database"
    )
    server_url = redis_server_url()
    require_service("Redis", *redis_available(server_url))

    owner = f"{os.getpid()}:{__name__}"
    database_number = claim_redis_database(server_url, owner)
    broker_url = f"{server_url}/{database_number}"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url_of_test_database(),
        "CELERY_BROKER_URL": broker_url,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_CACHE_URL", None)
    process = start_solo_worker(env, log_path)
    try:
        yield Worker(process, broker_url, log_path)
    finally:
        stop_process(process)
        redis.Redis.from_url(broker_url).flushdb()


# --- publishing from the test process ------------------------------------------------------------


def _drop_producer_pools() -> None:
    # The app caches its connection pools; without this, publishing would keep using the broker
    # configured before the switch. The pools stay in kombu's registry, keyed by broker URL, for
    # whoever asks for that broker again, so they are dropped here, not closed.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def publishing_to(broker_url: str):
    """Send tasks from this process to `broker_url` instead of running them eagerly.

    `broker_write_url` is the publishing side and, unlike `broker_url`, is not overridden by a
    CELERY_BROKER_URL environment variable, which CI sets for the whole suite.
    """
    conf = celery_app.conf
    saved = (conf.get("broker_write_url"), conf.task_always_eager)
    _drop_producer_pools()
    conf.broker_write_url = broker_url
    conf.task_always_eager = False
    try:
        yield
    finally:
        _drop_producer_pools()
        conf.broker_write_url, conf.task_always_eager = saved


@pytest.fixture
def to_worker(worker):
    with publishing_to(worker.broker_url):
        yield worker


def wait_until_dispatched(message_id: int, worker: Worker) -> OutboxMessage:
    deadline = time.monotonic() + DISPATCH_TIMEOUT
    while time.monotonic() < deadline:
        message = OutboxMessage.objects.get(pk=message_id)
        if message.dispatched_at is not None:
            return message
        worker.assert_alive()
        time.sleep(0.2)
    pytest.fail(f"message {message_id} not dispatched in {DISPATCH_TIMEOUT}s:\n{worker.log()}")


def assert_worker_ran_dispatch_for(worker_log: str, message_id: int) -> None:
    # The tasks return what they dispatched (a drain: the list of ids; the sweeper's per-message
    # dispatch: the id); the worker logs it with the success line.
    drained = r"outbox_drain\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: \[([0-9, ]*)\]"
    by_drain = any(
        str(message_id) in found.split(", ") for found in re.findall(drained, worker_log)
    )
    by_id = re.search(
        rf"outbox_dispatch\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: {message_id}\s", worker_log
    )
    assert by_drain or by_id, worker_log


# --- tests -------------------------------------------------------------------------------------


def test_worker_dispatches_the_message_of_a_new_opportunity(to_worker, alice, process):
    started = time.monotonic()

    opportunity = opportunity_create(actor=alice, process=process, name="Acme observability")

    message = OutboxMessage.objects.get(
        topic="opportunity.created", payload__opportunity_id=opportunity.pk
    )
    dispatched = wait_until_dispatched(message.pk, to_worker)
    assert dispatched.attempts == 1
    assert dispatched.dispatched_at >= message.created_at
    assert time.monotonic() - started < DISPATCH_TIMEOUT
    assert_worker_ran_dispatch_for(to_worker.log(), message.pk)


def test_broker_down_at_publish_time_keeps_the_request_and_the_sweeper_requeues(
    worker, api, alice, process, caplog
):
    with publishing_to(UNREACHABLE_BROKER), caplog.at_level(logging.WARNING):
        response = api.as_user(alice).post(
            "/api/v1/opportunities/", {"name": "Globex security", "process": process.pk}
        )

    assert response.status_code == 201, response.content
    message = OutboxMessage.objects.get(
        topic="opportunity.created", payload__opportunity_id=response.json()["id"]
    )
    assert message.dispatched_at is None
    assert message.attempts == 0
    assert f"Could not queue outbox message {message.pk}" in caplog.text

    # The sweeper leaves fresh messages to the on-commit path; this one has waited long enough.
    OutboxMessage.objects.filter(pk=message.pk).update(
        created_at=F("created_at") - timedelta(minutes=5)
    )
    with publishing_to(worker.broker_url):
        requeued = outbox_sweep()

    assert requeued == 1
    dispatched = wait_until_dispatched(message.pk, worker)
    assert dispatched.attempts == 1
    assert_worker_ran_dispatch_for(worker.log(), message.pk)


def test_the_worker_ticks_a_checklist_item_from_its_evidence(to_worker, alice, opportunity, stages):
    from opportunities.models import ChecklistCompletion
    from opportunities.services import activity_record
    from tests.factories import StageItemFactory

    item = StageItemFactory(
        stage=stages[0],
        title="Log the discovery call",
        required=False,
        evidence_event="activity.recorded",
        evidence_condition={"kind": ["call", "meeting"]},
    )
    activity_record(opportunity=opportunity, actor=alice, kind="call")

    message = OutboxMessage.objects.get(topic="activity.recorded")
    wait_until_dispatched(message.pk, to_worker)
    assert_worker_ran_dispatch_for(to_worker.log(), message.pk)
    completion = ChecklistCompletion.objects.get(opportunity=opportunity, item=item)
    assert completion.done and completion.auto_event_id == message.pk


def test_a_burst_of_events_is_dispatched_by_fewer_drains_than_messages(to_worker, alice, process):
    """A web process asks for a drain at most once per window (plus one at its end): every
    message of a burst is dispatched, by far fewer tasks than messages."""
    created = [
        opportunity_create(actor=alice, process=process, name=f"Burst {index}")
        for index in range(40)
    ]
    messages = list(
        OutboxMessage.objects.filter(
            topic="opportunity.created",
            payload__opportunity_id__in=[deal.pk for deal in created],
        ).order_by("pk")
    )
    assert len(messages) == 40
    for message in messages:
        assert wait_until_dispatched(message.pk, to_worker).attempts == 1
    log = to_worker.log()
    for message in messages:
        assert_worker_ran_dispatch_for(log, message.pk)
    drains = re.findall(r"outbox_drain\[[0-9a-f-]+\] succeeded", log)
    assert 1 <= len(drains) < len(messages) / 2, log
