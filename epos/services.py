import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from epos.lib.errors import Forbidden, InvalidInput
from epos.lib.roles import is_admin
from epos.models import ApiKey, OutboxMessage
from epos.outbox import registered_consumers

logger = logging.getLogger(__name__)


def api_key_create(*, user, name: str = "", system: str = "") -> tuple[ApiKey, str]:
    """Create a key and return it with the raw value, which is never stored and shown once.

    `system` makes it an integration's key (`ApiKey.System`): records written with it carry
    that system as their source. Only an admin issues those (`manage.py create_api_key
    --system`)."""
    if system not in ApiKey.System.values:
        raise InvalidInput(f"Unknown integration {system!r}.")
    raw = ApiKey.generate()
    key = ApiKey.objects.create(
        user=user, name=name, system=system, prefix=raw[:12], digest=ApiKey.digest_of(raw)
    )
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def user_profile_update(*, user, actor, first_name: str, last_name: str, email: str):
    """Change a user's name and email; an email another user already has is refused.

    Users change their own profile; admins may change anyone's. The row is re-read under a lock,
    so a refused change leaves the caller's user object (often `request.user`) untouched.
    """
    if actor.pk != user.pk and not is_admin(actor):
        raise Forbidden("You may only change your own profile.")
    User = get_user_model()
    email = BaseUserManager.normalize_email(email.strip())
    with transaction.atomic():
        profile = User.objects.select_for_update().get(pk=user.pk)
        if email and User.objects.filter(email__iexact=email).exclude(pk=profile.pk).exists():
            raise ValidationError({"email": "Another user already has this email address."})
        profile.first_name = first_name.strip()
        profile.last_name = last_name.strip()
        profile.email = email
        profile.full_clean()
        profile.save(update_fields=["first_name", "last_name", "email"])
    return profile


def outbox_dispatch(*, message_id: int) -> OutboxMessage | None:
    """Hand one message to every registered consumer, once per message id.

    The message row is locked (skipping one another worker holds) and marked dispatched in the
    same transaction as the consumers' writes, so either all of them happen or none does. A
    consumer that fails is recorded on the message, which the sweeper hands over again.
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
        try:
            with transaction.atomic():
                for _name, consumer in registered_consumers():
                    consumer(message)
        except Exception as exc:
            logger.exception("Outbox message %s: a consumer failed", message.pk)
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.save(update_fields=["attempts", "last_error"])
            return message
        message.dispatched_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "dispatched_at", "last_error"])
    return message


DRAIN_BATCH = 200


def outbox_drain(*, batch: int = DRAIN_BATCH) -> list[int]:
    """Dispatch every message waiting for its first attempt, oldest id first; returns the ids
    this call dispatched. A message another worker holds is skipped (that worker dispatches
    it); one whose consumer failed waits for the sweeper's retry rather than being tried again
    at every drain. One that commits behind the scan is carried by the drain its own commit
    asks for."""
    dispatched, after = [], 0
    while True:
        ids = list(
            OutboxMessage.objects.filter(dispatched_at__isnull=True, attempts=0, pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        for message_id in ids:
            message = outbox_dispatch(message_id=message_id)
            if message is not None and message.dispatched_at is not None:
                dispatched.append(message.pk)
        if len(ids) < batch:
            return dispatched
        after = ids[-1]


def outbox_pending_ids(*, older_than_seconds: int = 30, limit: int = 500) -> list[int]:
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        OutboxMessage.objects.filter(dispatched_at__isnull=True, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
