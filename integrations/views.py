"""/integrations/: the user's webhook subscriptions and deliveries (admins see everyone's)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from epos.lib.errors import DomainError
from epos.lib.roles import is_admin
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import selectors, services


def get_subscription_for_user(request, pk) -> WebhookSubscription:
    subscription = selectors.subscription_get(user=request.user, pk=pk)
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


def get_delivery_for_user(request, pk) -> WebhookDelivery:
    delivery = selectors.delivery_get(user=request.user, pk=pk)
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


@require_safe
@login_required
def integrations_home(request):
    return render(
        request,
        "integrations/home.html",
        {
            "subscriptions": selectors.subscriptions_for_page(user=request.user),
            "deliveries": selectors.recent_deliveries(user=request.user),
            "sees_everyone": is_admin(request.user),
        },
    )


def _after(request, text: str, *, error: bool = False):
    (messages.error if error else messages.success)(request, text)
    return redirect("integrations:home")


@require_POST
@login_required
def subscription_set_paused(request, pk, *, paused: bool):
    """Pause or resume a subscription (two URLs, one view)."""
    subscription = get_subscription_for_user(request, pk)
    services.webhook_set_paused(actor=request.user, subscription=subscription, paused=paused)
    verb = "Paused" if paused else "Resumed"
    return _after(request, f"{verb}: {subscription.event} to {subscription.target_url}.")


@require_POST
@login_required
def delivery_resend(request, pk):
    delivery = get_delivery_for_user(request, pk)
    try:
        delivery = services.webhook_resend(actor=request.user, delivery=delivery)
    except DomainError as error:
        return _after(request, error.message, error=True)
    return _after(request, f"Re-sending {delivery.webhook_id}: it is queued.")
