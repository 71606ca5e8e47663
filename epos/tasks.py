from celery import shared_task

from epos import services


@shared_task(bind=True, max_retries=5, default_retry_delay=10, acks_late=True)
def outbox_dispatch(self, message_id: int):
    message = services.outbox_dispatch(message_id=message_id)
    return message.pk if message else None


@shared_task(acks_late=True)
def outbox_drain():
    """Dispatch every message waiting for its first attempt (see epos.outbox)."""
    return services.outbox_drain()


@shared_task
def outbox_sweep():
    ids = services.outbox_pending_ids()
    for message_id in ids:
        outbox_dispatch.delay(message_id)
    return len(ids)
