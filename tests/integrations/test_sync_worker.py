"""Sync runs on a real Celery worker (and beat), Redis and PostgreSQL.

Workers and beat are `celery -A epos ...` processes of this test, on a Redis database of their
own, pointed at the test database; each is stopped (or killed) by its pid. Tests commit for
real (transactional) so the processes see the rows. The Vivun export they read is a fake on
loopback (tests/integrations/fakes.py).
"""

import os
import re
import subprocess
import sys
import threading
import time

import pytest
import redis
from django.conf import settings
from django.db import connection as db_connection
from django.db import connections
from django.test import Client
from django.utils import timezone

from integrations.models import Connection, SyncRun
from integrations.sync import services
from opportunities.models import Activity
from tests.conftest import require_service
from tests.integrations.test_celery_worker import (
    claim_redis_database,
    database_url_of_test_database,
    publishing_to,
    redis_available,
    redis_server_url,
    start_solo_worker,
    stop_process,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

SF_ID = "0065g00000AbCdEAAV"
TIMEOUT = 60.0
FAN_OUT_SECONDS = 2


@pytest.fixture(scope="module")
def broker(django_db_setup):
    require_service(
        "PostgreSQL", db_connection.vendor == "postgresql", "the worker needs a shared database"
    )
    server_url = redis_server_url()
    require_service("Redis", *redis_available(server_url))
    number = claim_redis_database(server_url, f"{os.getpid()}:{__name__}")
    url = f"{server_url}/{number}"
    try:
        yield url
    finally:
        redis.Redis.from_url(url).flushdb()


@pytest.fixture
def environment(broker):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url_of_test_database(),
        "CELERY_BROKER_URL": broker,
        "EPOS_VIVUN_HTTP_EXPORT": "1",
        "EPOS_SYNC_FAN_OUT_SECONDS": str(FAN_OUT_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_CACHE_URL", None)
    return env


class Processes:
    """The celery processes a test started, each stopped by its own pid at the end."""

    def __init__(self, env, directory):
        self.env, self.directory = env, directory
        self.started: list[tuple[subprocess.Popen, object]] = []

    def worker(self, name="worker") -> subprocess.Popen:
        log_path = self.directory / f"{name}.log"
        process = start_solo_worker(self.env, log_path)
        self.started.append((process, log_path))
        return process

    def beat(self) -> subprocess.Popen:
        log_path = self.directory / "beat.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter running celery
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "epos",
                    "beat",
                    "--loglevel=INFO",
                    f"--schedule={self.directory / 'beat-schedule'}",
                    f"--pidfile={self.directory / 'beat.pid'}",
                ],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        self.started.append((process, log_path))
        return process

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}" for _p, path in self.started
        )

    def stop_all(self) -> None:
        for process, _path in self.started:
            stop_process(process)


@pytest.fixture
def processes(environment, tmp_path):
    started = Processes(environment, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def deal(opportunity):
    from epos.models import ExternalRef

    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    return opportunity


def activity_record(number: int) -> dict:
    return {
        "Activity ID": f"act-{number}",
        "Opportunity ID": SF_ID,
        "Activity Type": "Demo",
        "Activity Date": "2026-03-04",
        "SE Hours": 1,
        "Last Modified Date": f"2026-03-0{number}T10:00:00Z",
    }


@pytest.fixture
def export_connection(root, vivun_export, deal):
    vivun_export.records["activities"] = [activity_record(n) for n in range(1, 6)]
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_http",
        name="Vivun export",
        settings={
            "base_url": vivun_export.base_url,
            "page_size": 2,
            "exports": {"product_gaps": "", "deliverables": ""},
        },
        credentials={"token": "vivun-token"},
    )


def wait_for(condition, processes: Processes, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for process, _path in processes.started:
            if process.poll() is not None and process.returncode not in (0, -9):
                pytest.fail(
                    f"a celery process exited while waiting for {what}:\n{processes.logs()}"
                )
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n{processes.logs()}")


def run_status(pk: int) -> str:
    return SyncRun.objects.get(pk=pk).status


# --- tests -------------------------------------------------------------------------------------


def test_beat_fans_out_one_run_per_enabled_connection(processes, root, export_connection, tmp_path):
    csv_path = tmp_path / "activities.csv"
    csv_path.write_text(
        f"Activity ID,Opportunity ID,Activity Type,Activity Date\ncsv-1,{SF_ID},Call,2026-03-04\n"
    )
    csv_connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Vivun CSV",
        settings={"files": {"activities": str(csv_path)}},
    )
    disabled = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Off",
        enabled=False,
        settings={"files": {"activities": str(csv_path)}},
    )
    processes.worker()
    processes.beat()

    def both_synced():
        done = SyncRun.objects.filter(trigger="schedule", status=SyncRun.Status.SUCCEEDED)
        return {run.connection_id for run in done} >= {export_connection.pk, csv_connection.pk}

    wait_for(both_synced, processes, "a scheduled run of each enabled connection")

    assert not SyncRun.objects.filter(connection=disabled).exists()
    assert not SyncRun.objects.filter(status=SyncRun.Status.FAILED).exists(), processes.logs()
    # However many rounds beat ran, every row exists once.
    assert Activity.objects.count() == 6
    assert "Sending due task sync-fan-out (integrations.tasks.sync_fan_out)" in processes.logs()


def test_a_killed_worker_s_run_is_resumed_by_the_next_run_from_the_same_cursor(
    processes, vivun_export, export_connection
):
    cursor = '{"activities": "2026-01-01T00:00:00.000000+00:00"}'
    Connection.objects.filter(pk=export_connection.pk).update(cursor=cursor)
    vivun_export.hold_page = 2  # the run stops on its second page
    first_worker = processes.worker("first-worker")

    with publishing_to(processes.env["CELERY_BROKER_URL"]):
        killed, _ = services.sync_request(actor=None, connection=export_connection)
    wait_for(vivun_export.held.is_set, processes, "the run to reach its second page")
    first_worker.kill()  # SIGKILL: no chance to clean up
    first_worker.wait(timeout=10)

    assert run_status(killed.pk) == SyncRun.Status.RUNNING
    assert Activity.objects.count() == 0  # nothing of the first page was committed
    assert Connection.objects.get(pk=export_connection.pk).cursor == cursor

    vivun_export.hold_page = None
    vivun_export.release.set()
    # Time passes: the dead worker's lease runs out (it outlives the task's hard time limit).
    SyncRun.objects.filter(pk=killed.pk).update(lease_expires_at=timezone.now())
    processes.worker("second-worker")
    requests_before = len(vivun_export.requests)

    with publishing_to(processes.env["CELERY_BROKER_URL"]):
        resumed, created = services.sync_request(actor=None, connection=export_connection)
    wait_for(lambda: run_status(resumed.pk) == SyncRun.Status.SUCCEEDED, processes, "the new run")

    killed.refresh_from_db()
    resumed.refresh_from_db()
    assert created and resumed.pk != killed.pk
    assert killed.status == SyncRun.Status.FAILED
    assert "stopped before it finished" in killed.message
    assert resumed.cursor_before == cursor
    first_request = vivun_export.requests[requests_before][1]
    assert first_request["modified_since"] == "2026-01-01T00:00:00.000000+00:00"
    assert resumed.counts["created"] == 5
    assert Activity.objects.count() == 5
    assert Connection.objects.get(pk=export_connection.pk).cursor == resumed.cursor_after != cursor


def test_two_sync_now_clicks_make_one_run(processes, root, vivun_export, export_connection):
    vivun_export.hold_page = 0  # the run waits on its first page while the clicks land
    processes.worker()
    url = f"/integrations/connections/{export_connection.pk}/sync/"
    start = threading.Barrier(2)
    answers = []

    def click():
        client = Client()
        client.force_login(root)
        start.wait(timeout=10)
        try:
            answers.append(client.post(url).status_code)
        finally:
            connections.close_all()

    with publishing_to(processes.env["CELERY_BROKER_URL"]):
        clicks = [threading.Thread(target=click) for _ in range(2)]
        for thread in clicks:
            thread.start()
        for thread in clicks:
            thread.join(timeout=30)
        wait_for(vivun_export.held.is_set, processes, "the run to start")
        third = Client()
        third.force_login(root)
        third.post(url)  # a click while it runs
        page = third.get("/integrations/").content.decode()

    assert answers == [302, 302]
    assert "a run is already running" in page
    assert SyncRun.objects.count() == 1
    vivun_export.release.set()
    run = SyncRun.objects.get()
    wait_for(lambda: run_status(run.pk) == SyncRun.Status.SUCCEEDED, processes, "the run")
    worker_log = processes.logs()
    assert len(re.findall(r"integrations\.tasks\.sync_run\[[0-9a-f-]+\] received", worker_log)) == 1
    assert Activity.objects.count() == 5
