"""Connections and their runs: configure, request a run, run it under the connection's lease.

The run's rule: a source that cannot be read (bad credentials, missing file, broken CSV framing,
the worker stopped) fails the whole run: nothing it read is kept and the cursor stays. Rows that
can be read but not written (unknown deal, bad date, unknown type) are reported one by one with
their line and reason while the others are committed: the run is then `partial`.
"""

import json
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from epos.lib import crypto
from epos.lib.errors import Conflict, Forbidden, InvalidInput
from epos.lib.roles import is_admin
from integrations.models import Connection, SyncRun
from integrations.sync import adapters
from integrations.sync.ports import SourceError, TransientSourceError

logger = logging.getLogger(__name__)

# The sync task's limits; the lease outlives the hard limit, so only a dead worker loses it.
SOFT_TIME_LIMIT = 600
TIME_LIMIT = 660
LEASE = timedelta(seconds=TIME_LIMIT + 60)
# A queued run older than this was probably never handed to a worker (broker down): queue again.
REQUEUE_AFTER = timedelta(minutes=2)

WORKER_STOPPED = (
    "The run stopped before it finished (its worker died or timed out); nothing it read was "
    "kept, and the next run starts from the same cursor."
)


def _check_admin(actor) -> None:
    if actor is not None and not is_admin(actor):
        raise Forbidden("Only admins manage connections.")


def _encrypt_credentials(credentials: dict) -> str:
    if not isinstance(credentials, dict):
        raise InvalidInput("credentials must be an object.")
    return crypto.encrypt(json.dumps(credentials)) if credentials else ""


# --- connections ------------------------------------------------------------------------------


def connection_create(
    *,
    actor,
    system: str,
    adapter: str,
    name: str,
    settings: dict | None = None,
    credentials: dict | None = None,
    enabled: bool = True,
) -> Connection:
    _check_admin(actor)
    adapters.check_adapter(system, adapter)
    connection = Connection(
        system=system,
        adapter=adapter,
        name=name,
        enabled=enabled,
        settings=adapters.clean_settings(adapter, settings or {}),
        credentials_encrypted=_encrypt_credentials(credentials or {}),
    )
    connection.full_clean()
    with transaction.atomic():
        connection.save()
    return connection


def connection_update(
    *,
    actor,
    connection: Connection,
    name: str | None = None,
    settings: dict | None = None,
    credentials: dict | None = None,
    enabled: bool | None = None,
) -> Connection:
    """Change what is given; credentials are write-only: given, they replace the stored ones."""
    _check_admin(actor)
    changed = []
    if name is not None:
        connection.name = name
        changed.append("name")
    if settings is not None:
        connection.settings = adapters.clean_settings(connection.adapter, settings)
        changed.append("settings")
    if credentials is not None:
        connection.credentials_encrypted = _encrypt_credentials(credentials)
        changed.append("credentials_encrypted")
    if enabled is not None:
        connection.enabled = enabled
        changed.append("enabled")
    if changed:
        # New settings or credentials deserve a fresh verdict from the next run or test.
        if {"settings", "credentials_encrypted"} & set(changed):
            connection.status = Connection.Status.OK
            connection.status_message = ""
            changed += ["status", "status_message"]
        connection.full_clean()
        with transaction.atomic():
            connection.save(update_fields=[*changed, "updated_at"])
    return connection


def connection_delete(*, actor, connection: Connection) -> None:
    _check_admin(actor)
    with transaction.atomic():
        connection.delete()


def _needs_attention(connection: Connection, message: str) -> None:
    connection.status = Connection.Status.NEEDS_ATTENTION
    connection.status_message = message[:500]
    Connection.objects.filter(pk=connection.pk).update(
        status=connection.status, status_message=connection.status_message
    )


def connection_needs_attention(connection: Connection, message: str) -> None:
    """Work done outside a run (a Drive task of one deal) found the connection unusable."""
    _needs_attention(connection, message)


def connection_test(*, actor, connection: Connection) -> tuple[bool, str]:
    """Try the connection; (ok, a plain-words result). A failure marks it as needing attention."""
    _check_admin(actor)
    try:
        message = adapters.source_for(connection).check()
    except (SourceError, crypto.DecryptionError) as error:
        _needs_attention(connection, str(error))
        return False, str(error)
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.OK, status_message=""
    )
    connection.status, connection.status_message = Connection.Status.OK, ""
    return True, message


# --- runs -------------------------------------------------------------------------------------


def _close_stale_runs(connection: Connection, now) -> None:
    SyncRun.objects.filter(
        connection=connection, status=SyncRun.Status.RUNNING, lease_expires_at__lt=now
    ).update(
        status=SyncRun.Status.FAILED,
        finished_at=now,
        lease_expires_at=None,
        message=WORKER_STOPPED,
    )


def _enqueue(run_id: int) -> None:
    from integrations import tasks

    tasks.enqueue(tasks.sync_run, run_id)


def sync_request(
    *, actor, connection: Connection, trigger: str = SyncRun.Trigger.MANUAL
) -> tuple[SyncRun, bool]:
    """The connection's queued or running run, or a new one queued after commit.

    (run, created): a second request while one is queued or running gets that run back.
    """
    _check_admin(actor)
    if not connection.enabled:
        raise Conflict("This connection is disabled; enable it to sync.")
    now = timezone.now()
    _close_stale_runs(connection, now)
    for _attempt in range(2):
        active = SyncRun.objects.filter(connection=connection, status__in=SyncRun.ACTIVE).first()
        if active is not None:
            if active.status == SyncRun.Status.QUEUED and now - active.created_at > REQUEUE_AFTER:
                transaction.on_commit(lambda pk=active.pk: _enqueue(pk))
            return active, False
        try:
            # The partial unique constraint is the lease: a concurrent request loses here.
            with transaction.atomic():
                run = SyncRun.objects.create(
                    connection=connection,
                    trigger=trigger,
                    requested_by=actor,
                    cursor_before=connection.cursor,
                )
        except IntegrityError:
            continue
        transaction.on_commit(lambda pk=run.pk: _enqueue(pk))
        return run, True
    raise Conflict("Another run of this connection is starting; try again in a moment.")


def sync_fan_out() -> list[int]:
    """A scheduled run of every enabled connection (the ones already running are left be)."""
    run_ids = []
    for connection in Connection.objects.filter(enabled=True):
        try:
            run, _created = sync_request(
                actor=None, connection=connection, trigger=SyncRun.Trigger.SCHEDULE
            )
        except Conflict:
            continue  # two requests raced; the other one queued the run
        run_ids.append(run.pk)
    return run_ids


def _claim(run_id: int) -> SyncRun | None:
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=now, lease_expires_at=now + LEASE
    )
    if not claimed:
        return None
    return SyncRun.objects.select_related("connection").get(pk=run_id)


def _finish_failed(run: SyncRun, message: str, *, attention: bool) -> SyncRun:
    run.status = SyncRun.Status.FAILED
    run.finished_at = timezone.now()
    run.lease_expires_at = None
    run.message = message[:500]
    run.errors = [{"item": "connection", "reason": message}]
    run.counts = {}
    run.cursor_after = run.cursor_before
    run.save(
        update_fields=[
            "status",
            "finished_at",
            "lease_expires_at",
            "message",
            "errors",
            "counts",
            "cursor_after",
        ]
    )
    if attention:
        _needs_attention(run.connection, message)
    return run


def sync_run(*, run_id: int, last_attempt: bool = True) -> SyncRun | None:
    """The task's body: claim the run, read the source, upsert, and commit rows, counts and the
    new cursor in one transaction. None when the run is not queued (done, or another worker
    has it): running a task twice is harmless.

    A transient error re-queues the run and is raised again so the task can retry it, unless
    this is the last attempt, which fails the run.
    """
    run = _claim(run_id)
    if run is None:
        return None
    connection = run.connection
    run.cursor_before = connection.cursor
    try:
        source = adapters.source_for(connection)
        with transaction.atomic():
            outcome = adapters.writer_for(connection).write_all(source.read(connection.cursor))
            cursor = source.cursor_after()
            Connection.objects.filter(pk=connection.pk).update(
                cursor=cursor, status=Connection.Status.OK, status_message=""
            )
            run.status = (
                SyncRun.Status.PARTIAL if outcome.counts["failed"] else SyncRun.Status.SUCCEEDED
            )
            run.counts = outcome.counts
            run.errors = outcome.errors
            run.cursor_after = cursor
            run.finished_at = timezone.now()
            run.lease_expires_at = None
            run.message = ""
            run.save()
        return run
    except TransientSourceError as error:
        if last_attempt:
            return _finish_failed(run, str(error), attention=False)
        SyncRun.objects.filter(pk=run.pk).update(
            status=SyncRun.Status.QUEUED, lease_expires_at=None, message=str(error)[:500]
        )
        raise
    except (SourceError, crypto.DecryptionError) as error:
        return _finish_failed(run, str(error), attention=True)
    except Exception:
        # Recorded on the run rather than raised: with no broker the run executes inside the
        # request that asked for it, and a bug in an adapter must not turn that into a 500.
        logger.exception("Sync run %s failed", run.pk)
        return _finish_failed(
            run, "An unexpected error stopped the run; see the server log.", attention=False
        )
