"""Thin Celery wrappers around the webhook and sync services; each owns only its retry policy."""

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import shared_task
from django.conf import settings
from django.db import connections

from integrations.sync import google_drive
from integrations.sync import services as sync_services
from integrations.sync.ports import TransientSourceError
from integrations.webhooks import services

logger = logging.getLogger(__name__)

_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()


def _in_background(task, args, countdown: float) -> None:
    """Run a task on a thread of this process: the embedded default has no worker, and a slow
    receiver must not hold up the request that published the event."""
    global _background
    with _background_lock:
        if _background is None:
            _background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="epos-webhooks")

    def run():
        try:
            task.apply(args=args)
        except Exception:
            logger.exception("Background task %s%r failed", task.name, args)
        finally:
            # This thread's connections end with its task: a kept one would hold the database
            # open (a test database could not be dropped, a restart would find it busy).
            connections.close_all()

    if countdown > 0:
        timer = threading.Timer(countdown, lambda: _background.submit(run))
        timer.daemon = True
        timer.start()
    else:
        _background.submit(run)


def enqueue(task, *args, countdown: float = 0) -> None:
    """Queue `task(*args)`; a broker that is down is logged and left to the sweeper."""
    if task.app.conf.task_always_eager:
        if settings.EPOS_TASKS_IN_BACKGROUND_THREAD:
            _in_background(task, args, countdown)
        elif countdown <= 0:
            task.apply(args=args)
        return
    try:
        task.apply_async(args=args, countdown=countdown or None)
    except Exception:  # noqa: BLE001 - the broker being down must not fail the caller
        logger.warning("Could not queue %s%r; the sweeper will retry", task.name, args)


@shared_task(acks_late=True)
def webhook_deliver(*delivery_ids: int):
    """One attempt at each due delivery; deliveries to one receiver share the task."""
    attempted = services.webhook_deliver_batch(delivery_ids=list(delivery_ids))
    return [delivery.status for delivery in attempted]


@shared_task
def webhooks_sweep():
    """Queue every delivery that is due: retries whose time came, attempts whose worker died."""
    ids = services.due_delivery_ids()
    for delivery_id in ids:
        enqueue(webhook_deliver, delivery_id)
    return len(ids)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(TransientSourceError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=4,
    soft_time_limit=sync_services.SOFT_TIME_LIMIT,
    time_limit=sync_services.TIME_LIMIT,
)
def sync_run(self, run_id: int):
    """One run of one connection; a second delivery of the same task finds it claimed."""
    # In-process (no broker) there is no one to retry later: the first attempt is the last.
    last_attempt = self.request.is_eager or self.request.retries >= self.max_retries
    run = sync_services.sync_run(run_id=run_id, last_attempt=last_attempt)
    return run.status if run else None


@shared_task(bind=True, acks_late=True, max_retries=6, soft_time_limit=120, time_limit=180)
def drive_documents_create(self, connection_id: int, opportunity_id: int, stage_id: int):
    """The deal's Drive folder and the documents of the stage it entered (google_drive)."""
    try:
        return google_drive.drive_documents_create(
            connection_id=connection_id, opportunity_id=opportunity_id, stage_id=stage_id
        )
    except TransientSourceError as error:
        if self.request.is_eager:
            # In-process there is no worker to come back later; the Drive connection's next
            # run (Sync now, or the schedule) catches the deal up.
            logger.warning("Drive documents of deal %s postponed: %s", opportunity_id, error)
            return None
        countdown = min(600, 30 * 2**self.request.retries) + random.uniform(0, 10)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def sync_fan_out():
    """Every 5 minutes: one run per enabled connection, queued unless one is already going."""
    return len(sync_services.sync_fan_out())
