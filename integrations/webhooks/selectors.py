from django.db.models import QuerySet

from integrations.models import WebhookSubscription


def subscriptions_of(*, user) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(user=user).order_by("-created_at", "-id")
