"""Webhook writes: subscribe, unsubscribe, pause/resume, fan an event out, attempt a delivery."""

import base64
import json
import logging
import random
import re
import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from epos.lib import crypto
from epos.lib.errors import Conflict, Forbidden, InvalidInput
from epos.lib.roles import is_admin
from epos.models import ApiKey, OutboxMessage
from epos.outbox import TOPICS
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import client
from integrations.webhooks.events import event_body, may_see_event
from integrations.webhooks.targets import Target, TargetRefused, resolve_target

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
SubscriptionStatus = WebhookSubscription.Status
# An attempt holds its delivery for the request's timeout and this margin; a worker that dies
# mid-attempt leaves it due again once the lease runs out.
LEASE_MARGIN = timedelta(seconds=5)
MAX_RETRY_AFTER = timedelta(hours=24)


# --- subscriptions --------------------------------------------------------------------------


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_subscribe(
    *, actor, target_url: str, event: str, api_key: ApiKey | None = None
) -> tuple[WebhookSubscription, str]:
    """Subscribe `actor` to `event`; returns the subscription and its signing secret."""
    if event not in TOPICS:
        raise InvalidInput(
            f"Unknown event {event!r}; expected one of {', '.join(TOPICS)}.", field="event"
        )
    try:
        resolve_target(target_url)
    except TargetRefused as exc:
        raise InvalidInput(str(exc), field="target_url") from exc
    # Every subscription multiplies the work of each event: one person cannot make it unbounded.
    limit = settings.EPOS_WEBHOOK_MAX_SUBSCRIPTIONS
    if WebhookSubscription.objects.filter(user=actor).count() >= limit:
        raise Conflict(
            f"You have {limit} webhook subscriptions, the most one person may have; "
            "remove one you no longer use first."
        )
    secret = _new_secret()
    subscription = WebhookSubscription(
        user=actor,
        api_key=api_key,
        event=event,
        target_url=target_url,
        secret_encrypted=crypto.encrypt(secret),
    )
    subscription.full_clean()
    subscription.save()
    return subscription, secret


def _check_owner(actor, subscription: WebhookSubscription) -> None:
    if subscription.user_id != actor.pk and not is_admin(actor):
        raise Forbidden("This subscription belongs to someone else.")


def webhook_unsubscribe(*, actor, subscription: WebhookSubscription) -> None:
    _check_owner(actor, subscription)
    subscription.delete()


def webhook_set_paused(
    *, actor, subscription: WebhookSubscription, paused: bool
) -> WebhookSubscription:
    _check_owner(actor, subscription)
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if paused and locked.status == SubscriptionStatus.ACTIVE:
            locked.status = SubscriptionStatus.PAUSED
        elif not paused and locked.status in (SubscriptionStatus.PAUSED, SubscriptionStatus.GONE):
            # Resuming after a 410 is the owner saying the receiver is back.
            locked.status = SubscriptionStatus.ACTIVE
        else:
            return locked
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_changed_at"])
    return locked


def webhook_resend(*, actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Try a delivery that failed (or was skipped) again, as a fresh series of attempts."""
    _check_owner(actor, delivery.subscription)
    if delivery.status not in (Status.FAILED, Status.SKIPPED):
        raise InvalidInput("Only a failed or skipped delivery can be re-sent.")
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        transaction.on_commit(lambda: enqueue_deliveries([[delivery.pk]]))
    delivery.refresh_from_db()
    return delivery


# --- fan-out (an outbox consumer) -----------------------------------------------------------


def fan_out(message: OutboxMessage) -> None:
    """One delivery per active subscription to the message's event whose owner may see its
    object; idempotent per message.

    Deliveries to the same receiver (scheme, host and port) go to one task, a few at a time,
    which sends them side by side: Zapier's hooks all live on one host.
    """
    subscriptions = list(
        WebhookSubscription.objects.filter(event=message.topic, status=SubscriptionStatus.ACTIVE)
        .filter(Q(api_key__isnull=True) | Q(api_key__revoked_at__isnull=True))
        .select_related("user")
    )
    # Who may not see the object hears nothing of it, not even that something happened.
    visible: dict[int, bool] = {}
    for subscription in subscriptions:
        if subscription.user_id not in visible:
            visible[subscription.user_id] = may_see_event(subscription.user, message)
    targets = {sub.pk: sub.target_url for sub in subscriptions if visible[sub.user_id]}
    if not targets:
        return
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(subscription_id=pk, message=message, next_attempt_at=now)
            for pk in targets
        ],
        ignore_conflicts=True,
    )
    by_origin: dict[str, list[int]] = defaultdict(list)
    for delivery_id, subscription_id in WebhookDelivery.objects.filter(
        message=message, status=Status.PENDING
    ).values_list("pk", "subscription_id"):
        by_origin[_origin(targets.get(subscription_id, ""))].append(delivery_id)
    size = client.PARALLEL_REQUESTS
    batches = [ids[i : i + size] for ids in by_origin.values() for i in range(0, len(ids), size)]
    transaction.on_commit(lambda: enqueue_deliveries(batches))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def enqueue_deliveries(batches: list[list[int]]) -> None:
    """Hand deliveries to workers; a broker that is down leaves them to the sweeper."""
    from integrations import tasks

    for batch in batches:
        tasks.enqueue(tasks.webhook_deliver, *batch)


# --- one attempt ----------------------------------------------------------------------------


def retry_schedule() -> list[float]:
    return [float(seconds) for seconds in settings.EPOS_WEBHOOK_RETRY_SCHEDULE]


def _backoff(attempts: int, retry_after: timedelta | None) -> timedelta | None:
    """The wait before the next attempt, or None when the schedule is spent (about three days)."""
    schedule = retry_schedule()
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    # Jitter spreads the retries of many deliveries that failed together (a receiver restart).
    delay = timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - not a secret
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def _retry_after(value: str | None) -> timedelta | None:
    """The receiver's Retry-After (seconds or an HTTP date), capped; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,12}", value, flags=re.ASCII):
        return min(timedelta(seconds=int(value)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when - timezone.now(), timedelta(0)), MAX_RETRY_AFTER)


def _claim(delivery_ids: list[int], now: datetime) -> list[WebhookDelivery]:
    """Take the due deliveries among `delivery_ids` for one attempt each; others are left alone
    (not due yet, or another worker holds them)."""
    lease = timedelta(seconds=settings.EPOS_WEBHOOK_TIMEOUT) + LEASE_MARGIN
    claimed = WebhookDelivery.objects.filter(
        pk__in=delivery_ids,
        status__in=(Status.PENDING, Status.SENDING),
        next_attempt_at__lte=now,
    ).update(
        status=Status.SENDING,
        attempts=F("attempts") + 1,
        last_attempt_at=now,
        next_attempt_at=now + lease,
    )
    if not claimed:
        return []
    # This attempt's rows carry its lease; a later claim by another worker would move it.
    return list(
        WebhookDelivery.objects.select_related(
            "subscription", "subscription__user", "subscription__api_key", "message"
        )
        .filter(pk__in=delivery_ids, status=Status.SENDING, next_attempt_at=now + lease)
        .order_by("pk")
    )


def _clean_text(value: str, limit: int) -> str:
    # What a receiver sends may hold NUL (which PostgreSQL text refuses) and be of any length.
    return value.replace("\x00", "\ufffd")[:limit]


def _finish(delivery: WebhookDelivery, **fields) -> None:
    for name in ("last_error", "response_excerpt"):
        if name in fields:
            field = WebhookDelivery._meta.get_field(name)
            fields[name] = _clean_text(fields[name], field.max_length)
    lease_end = delivery.next_attempt_at
    for name, value in fields.items():
        setattr(delivery, name, value)
    # Only the attempt that holds the lease may record its outcome.
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.SENDING, next_attempt_at=lease_end
    ).update(**fields)


def signed_request(
    delivery: WebhookDelivery, secret: str, now: datetime
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event_body(delivery.message), separators=(",", ":"), sort_keys=True)
    signature = Webhook(secret).sign(delivery.webhook_id, now.astimezone(UTC), body)
    headers = {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def webhook_deliver(*, delivery_id: int) -> WebhookDelivery | None:
    """One attempt at one delivery; None when it is not due or another worker holds it."""
    attempted = webhook_deliver_batch(delivery_ids=[delivery_id])
    return attempted[0] if attempted else None


def webhook_deliver_batch(*, delivery_ids: list[int]) -> list[WebhookDelivery]:
    """Make one attempt at each due delivery of the batch; the requests go out side by side.

    No transaction is held open across a request: the claim commits first, and each outcome is
    written once every answer is in (or its deadline passed), all within the claim's lease.
    """
    now = timezone.now()
    deliveries = _claim(delivery_ids, now)
    visible: dict[tuple[int, int], bool] = {}
    targets: dict[str, Target | TargetRefused] = {}
    sending: list[tuple[WebhookDelivery, client.Request]] = []
    for delivery in deliveries:
        subscription = delivery.subscription
        key = (subscription.user_id, delivery.message_id)
        if key not in visible:
            visible[key] = may_see_event(subscription.user, delivery.message)
        url = subscription.target_url
        if url not in targets:
            try:
                targets[url] = resolve_target(url)
            except TargetRefused as exc:
                targets[url] = exc
        refusal = _refusal(delivery, visible[key], targets[url])
        if refusal is not None:
            _finish(delivery, next_attempt_at=None, **refusal)
            continue
        body, headers = signed_request(delivery, subscription.secret, now)
        sending.append((delivery, client.Request(target=targets[url], body=body, headers=headers)))
    replies = client.post_all(
        [request for _, request in sending], timeout=settings.EPOS_WEBHOOK_TIMEOUT
    )
    for (delivery, _request), reply in zip(sending, replies, strict=True):
        _record(delivery, reply)
    return deliveries


def _refusal(delivery: WebhookDelivery, visible: bool, target) -> dict | None:
    """Why this delivery is not sent at all, as the fields to record; None when it may go."""
    subscription = delivery.subscription
    if subscription.status != SubscriptionStatus.ACTIVE:
        state = subscription.get_status_display().lower()
        return {"status": Status.SKIPPED, "last_error": f"The subscription is {state}."}
    if subscription.api_key_id is not None and subscription.api_key.revoked_at is not None:
        return {
            "status": Status.SKIPPED,
            "last_error": "The API key that made this subscription was revoked.",
        }
    if not visible:
        return {
            "status": Status.SKIPPED,
            "last_error": "The subscriber may not see this object (any more).",
        }
    if isinstance(target, TargetRefused):
        return {"status": Status.FAILED, "last_error": str(target)}
    return None


def _record(delivery: WebhookDelivery, reply: client.Reply | client.NetworkError) -> None:
    if isinstance(reply, client.NetworkError):
        _retry_or_fail(delivery, error=str(reply), status_code=None, excerpt="")
    elif 200 <= reply.status < 300:
        _finish(
            delivery,
            status=Status.SUCCEEDED,
            next_attempt_at=None,
            delivered_at=timezone.now(),
            response_status=reply.status,
            response_excerpt=reply.excerpt,
            last_error="",
        )
    elif reply.status == 410:
        _finish(
            delivery,
            status=Status.FAILED,
            next_attempt_at=None,
            response_status=reply.status,
            response_excerpt=reply.excerpt,
            last_error="The receiver answered 410 Gone: the subscription is deactivated.",
        )
        WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
            status=SubscriptionStatus.GONE, status_changed_at=timezone.now()
        )
    elif reply.status == 429 or reply.status >= 500:
        _retry_or_fail(
            delivery,
            error=f"HTTP {reply.status}",
            status_code=reply.status,
            excerpt=reply.excerpt,
            retry_after=_retry_after(reply.headers.get("retry-after")),
        )
    else:
        # Another 4xx (or a redirect, which is not followed) will not improve by retrying.
        _finish(
            delivery,
            status=Status.FAILED,
            next_attempt_at=None,
            response_status=reply.status,
            response_excerpt=reply.excerpt,
            last_error=f"HTTP {reply.status}: not retried.",
        )


def _retry_or_fail(
    delivery: WebhookDelivery,
    *,
    error: str,
    status_code: int | None,
    excerpt: str,
    retry_after: timedelta | None = None,
) -> None:
    delay = _backoff(delivery.attempts, retry_after)
    if delay is None:
        _finish(
            delivery,
            status=Status.FAILED,
            next_attempt_at=None,
            response_status=status_code,
            response_excerpt=excerpt,
            last_error=f"{error[:400]}; given up after {delivery.attempts} attempts.",
        )
        return
    _finish(
        delivery,
        status=Status.PENDING,
        next_attempt_at=timezone.now() + delay,
        response_status=status_code,
        response_excerpt=excerpt,
        last_error=error,
    )
    # A short wait is scheduled on the broker; longer ones are left to the sweeper.
    if delay.total_seconds() <= settings.EPOS_WEBHOOK_COUNTDOWN_MAX:
        from integrations import tasks

        tasks.enqueue(tasks.webhook_deliver, delivery.pk, countdown=delay.total_seconds())


def due_delivery_ids(*, limit: int = 1000) -> list[int]:
    return list(
        WebhookDelivery.objects.filter(
            Q(status__in=(Status.PENDING, Status.SENDING)), next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
