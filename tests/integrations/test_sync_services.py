"""Runs under a lease: one at a time per connection, cursor moved only by a committed run."""

from datetime import timedelta

import pytest
from django.utils import timezone

from epos.lib.errors import Conflict, Forbidden
from epos.models import ExternalRef
from integrations import tasks
from integrations.models import Connection, SyncRun
from integrations.sync import services
from integrations.sync.ports import SourceError, TransientSourceError
from integrations.sync.vivun_csv import VivunCsvSource
from opportunities.models import Activity

pytestmark = pytest.mark.django_db

SF_ID = "0065g00000AbCdEAAV"


@pytest.fixture
def connection(root, tmp_path, opportunity):
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    path = tmp_path / "activities.csv"
    path.write_text(
        "Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours\n"
        f"a-1,{SF_ID},Demo,2026-03-04,1\n"
    )
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Vivun",
        settings={"files": {"activities": str(path)}},
    )


def test_two_sync_requests_make_one_run(connection, root, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first, created_first = services.sync_request(actor=root, connection=connection)
        second, created_second = services.sync_request(actor=root, connection=connection)

    assert (created_first, created_second) == (True, False)
    assert second == first
    assert SyncRun.objects.count() == 1
    assert len(callbacks) == 1  # one task queued


def test_with_no_broker_the_run_happens_in_process_after_commit(
    connection, root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run, _ = services.sync_request(actor=root, connection=connection)
        assert SyncRun.objects.get().status == SyncRun.Status.QUEUED
    assert Activity.objects.count() == 0  # nothing ran inside the request's transaction

    for callback in callbacks:
        callback()

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.requested_by == root
    assert run.started_at <= run.finished_at
    assert Activity.objects.count() == 1


def test_a_finished_run_lets_the_next_one_start(connection, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = services.sync_request(actor=None, connection=connection)
    with django_capture_on_commit_callbacks(execute=True):
        second, created = services.sync_request(actor=None, connection=connection)

    assert created and second != first


def test_running_the_task_twice_is_harmless(connection, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(actor=None, connection=connection)

    assert tasks.sync_run.apply(args=[run.pk]).get() is None
    assert Activity.objects.count() == 1


def test_a_failure_half_way_keeps_nothing_and_leaves_the_cursor(
    connection, monkeypatch, django_capture_on_commit_callbacks
):
    Connection.objects.filter(pk=connection.pk).update(cursor="before")
    connection.refresh_from_db()

    def read(self, cursor):
        yield from VivunCsvSource._read_file(self, "activities", self.files["activities"])
        raise SourceError("The export vanished half-way.")

    monkeypatch.setattr(VivunCsvSource, "read", read)

    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(actor=None, connection=connection)

    run.refresh_from_db()
    connection.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.errors == [{"item": "connection", "reason": "The export vanished half-way."}]
    assert Activity.objects.count() == 0
    assert not ExternalRef.objects.filter(system="vivun").exists()
    assert connection.cursor == run.cursor_after == "before"
    assert connection.status == Connection.Status.NEEDS_ATTENTION
    assert connection.status_message == "The export vanished half-way."


def test_a_killed_worker_s_run_is_closed_and_the_next_one_starts_from_the_same_cursor(
    connection, django_capture_on_commit_callbacks
):
    Connection.objects.filter(pk=connection.pk).update(cursor="kept")
    connection.refresh_from_db()
    dead = SyncRun.objects.create(
        connection=connection,
        status=SyncRun.Status.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        run, created = services.sync_request(actor=None, connection=connection)

    dead.refresh_from_db()
    run.refresh_from_db()
    assert created
    assert dead.status == SyncRun.Status.FAILED
    assert "stopped before it finished" in dead.message
    assert run.cursor_before == "kept"
    assert run.status == SyncRun.Status.SUCCEEDED


def test_a_live_lease_is_respected(connection):
    running = SyncRun.objects.create(
        connection=connection,
        status=SyncRun.Status.RUNNING,
        started_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(minutes=5),
    )

    run, created = services.sync_request(actor=None, connection=connection)

    assert (run, created) == (running, False)


def test_a_transient_error_requeues_the_run_and_the_last_attempt_fails_it(connection, monkeypatch):
    def read(self, cursor):
        raise TransientSourceError("Vivun answered 503.")
        yield

    monkeypatch.setattr(VivunCsvSource, "read", read)
    run = SyncRun.objects.create(connection=connection)

    with pytest.raises(TransientSourceError):
        services.sync_run(run_id=run.pk, last_attempt=False)
    run.refresh_from_db()
    assert (run.status, run.message) == (SyncRun.Status.QUEUED, "Vivun answered 503.")

    services.sync_run(run_id=run.pk, last_attempt=True)
    run.refresh_from_db()
    connection.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert connection.status == Connection.Status.OK  # worth retrying, not the admin's problem


def test_the_task_retries_transient_errors_only():
    assert tasks.sync_run.autoretry_for == (TransientSourceError,)
    assert tasks.sync_run.soft_time_limit < tasks.sync_run.time_limit
    assert services.LEASE.total_seconds() > tasks.sync_run.time_limit


def test_in_process_a_transient_error_fails_the_run_without_raising(
    connection, monkeypatch, django_capture_on_commit_callbacks
):
    def read(self, cursor):
        raise TransientSourceError("Vivun answered 429.")
        yield

    monkeypatch.setattr(VivunCsvSource, "read", read)

    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(actor=None, connection=connection)

    run.refresh_from_db()
    assert (run.status, run.message) == (SyncRun.Status.FAILED, "Vivun answered 429.")


def test_an_unexpected_error_is_recorded_on_the_run(
    connection, monkeypatch, django_capture_on_commit_callbacks
):
    def read(self, cursor):
        raise ZeroDivisionError
        yield

    monkeypatch.setattr(VivunCsvSource, "read", read)

    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(actor=None, connection=connection)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "unexpected error" in run.message


def test_the_fan_out_queues_one_run_per_enabled_connection(
    connection, root, tmp_path, django_capture_on_commit_callbacks
):
    disabled = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Off",
        enabled=False,
        settings={"files": {"activities": str(tmp_path / "none.csv")}},
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sync_fan_out.apply().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sync_fan_out.apply().get() == 1

    assert SyncRun.objects.filter(connection=connection, trigger="schedule").count() == 2
    assert not SyncRun.objects.filter(connection=disabled).exists()


def test_the_beat_schedule_fans_out_every_five_minutes():
    from epos.celery import app

    entry = app.conf.beat_schedule["sync-fan-out"]
    assert entry == {"task": "integrations.tasks.sync_fan_out", "schedule": 300.0}
    assert entry["task"] in app.tasks


def test_a_disabled_connection_does_not_sync(connection, root):
    services.connection_update(actor=root, connection=connection, enabled=False)

    with pytest.raises(Conflict, match="disabled"):
        services.sync_request(actor=root, connection=connection)
    assert not SyncRun.objects.exists()


def test_only_admins_manage_connections_and_runs(connection, alice, carol):
    for user in (alice, carol):
        with pytest.raises(Forbidden):
            services.sync_request(actor=user, connection=connection)
        with pytest.raises(Forbidden):
            services.connection_update(actor=user, connection=connection, name="x")
    assert not SyncRun.objects.exists()
    assert Connection.objects.get().name == "Vivun"


def test_credentials_are_replaced_only_when_given(connection, root):
    services.connection_update(actor=root, connection=connection, credentials={"k": "v"})
    services.connection_update(actor=root, connection=connection, name="Renamed")

    stored = Connection.objects.get()
    assert stored.credentials == {"k": "v"}
    assert stored.name == "Renamed"
