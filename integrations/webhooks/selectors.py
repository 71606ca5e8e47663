from django.db.models import OuterRef, QuerySet, Subquery

from epos.lib.roles import is_admin
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks.events import events_visible_to


def subscriptions_of(*, user) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(user=user).order_by("-created_at", "-id")


def _scope(queryset: QuerySet, user, owner_field: str) -> QuerySet:
    """Admins see everyone's webhooks; everybody else their own."""
    return queryset if is_admin(user) else queryset.filter(**{owner_field: user})


def subscriptions_for_page(*, user) -> QuerySet[WebhookSubscription]:
    """Subscriptions with their last delivery's status and time, in one query."""
    last = WebhookDelivery.objects.filter(subscription=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    return (
        _scope(WebhookSubscription.objects.select_related("user"), user, "user")
        .annotate(
            last_delivery_status=Subquery(last.values("status")[:1]),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
        )
        .order_by("-created_at", "-id")
    )


def recent_deliveries(*, user, limit: int = 50) -> QuerySet[WebhookDelivery]:
    """The newest deliveries, of events the user may see now (a delivery skipped because its
    deal moved out of reach must not tell them the deal moved)."""
    deliveries = _scope(
        WebhookDelivery.objects.select_related("subscription", "subscription__user", "message"),
        user,
        "subscription__user",
    )
    if not is_admin(user):
        deliveries = deliveries.filter(message__in=events_visible_to(user).values("pk"))
    return deliveries.order_by("-created_at", "-id")[:limit]


def subscription_get(*, user, pk) -> WebhookSubscription | None:
    return _scope(WebhookSubscription.objects.all(), user, "user").filter(pk=pk).first()


def delivery_get(*, user, pk) -> WebhookDelivery | None:
    return (
        _scope(WebhookDelivery.objects.select_related("subscription"), user, "subscription__user")
        .filter(pk=pk)
        .first()
    )
