from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations.models import ApiKey, OutboxMessage


def api_key_create(*, user, name: str = "") -> tuple[ApiKey, str]:
    """Create a key and return it with the raw value, which is never stored and shown once."""
    raw = ApiKey.generate()
    key = ApiKey.objects.create(user=user, name=name, prefix=raw[:12], digest=ApiKey.digest_of(raw))
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def outbox_dispatch(*, message_id: int) -> OutboxMessage | None:
    """Hand one message to its consumers, at most once per message id.

    Webhook deliveries and sync fan-outs hang off this point as they are built; today it marks
    the message handled so the events feed and the sweeper agree on what is pending.
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, dispatched_at__isnull=True)
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        message.dispatched_at = timezone.now()
        message.save(update_fields=["attempts", "dispatched_at"])
    return message


def outbox_pending_ids(*, older_than_seconds: int = 30, limit: int = 500) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
