"""/integrations/: the user's webhook subscriptions and deliveries (admins see everyone's), and
for admins the sync connections to Vivun and Google with their run log."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from epos.lib.errors import DomainError
from epos.lib.roles import is_admin
from integrations.forms import CONNECTION_FORMS
from integrations.models import Connection, WebhookDelivery, WebhookSubscription
from integrations.sync import adapters, google_drive
from integrations.sync import selectors as sync_selectors
from integrations.sync import services as sync_services
from integrations.webhooks import selectors, services
from opportunities.views.common import get_opportunity_for_user


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


def get_connection_for_user(request, pk) -> Connection:
    """Connections are the admins' business; to anyone else they do not exist."""
    connection = sync_selectors.connection_get(pk=pk) if is_admin(request.user) else None
    if connection is None:
        raise Http404("No such connection.")
    return connection


def _home(request, *, connection_form=None, status=200):
    admin = is_admin(request.user)
    context = {
        "subscriptions": selectors.subscriptions_for_page(user=request.user),
        "deliveries": selectors.recent_deliveries(user=request.user),
        "sees_everyone": admin,
    }
    if admin:
        context |= {
            "connections": sync_selectors.connections_for_page(),
            "runs": sync_selectors.recent_runs(),
            "connection_forms": _connection_forms(connection_form),
        }
    return render(request, "integrations/home.html", context, status=status)


def _connection_forms(bound=None) -> list:
    """One adding form per adapter this server offers; `bound` (a refused one) in its place."""
    return [
        bound if bound is not None and bound.adapter == adapter else form_class()
        for adapter, form_class in CONNECTION_FORMS.items()
        if adapters.is_available(adapter)
    ]


@require_safe
@login_required
def integrations_home(request):
    return _home(request)


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


@require_POST
@login_required
def connection_create(request):
    """Add a connection with the form of its adapter (`adapter`, the CSV export by default)."""
    if not is_admin(request.user):
        raise Http404("No such page.")
    adapter = request.POST.get("adapter") or Connection.Adapter.VIVUN_CSV
    form_class = CONNECTION_FORMS.get(adapter)
    if form_class is None or not adapters.is_available(adapter):
        return _after(request, "That kind of connection cannot be added here.", error=True)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            connection = sync_services.connection_create(
                actor=request.user,
                system=form.system,
                adapter=form.adapter,
                name=form.cleaned_data["name"],
                settings=form.settings(),
                credentials=form.credentials(),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        except ValidationError as error:
            form.add_error(None, " ".join(error.messages))
        else:
            return _after(request, f"Added the connection {connection.name}.")
    return _home(request, connection_form=form, status=400)


@require_POST
@login_required
def connection_test(request, pk):
    connection = get_connection_for_user(request, pk)
    ok, message = sync_services.connection_test(actor=request.user, connection=connection)
    prefix = "Connection works" if ok else "Connection failed"
    return _after(request, f"{connection.name}: {prefix}. {message}", error=not ok)


@require_POST
@login_required
def connection_sync(request, pk):
    connection = get_connection_for_user(request, pk)
    try:
        run, created = sync_services.sync_request(actor=request.user, connection=connection)
    except DomainError as error:
        return _after(request, error.message, error=True)
    if created:
        return _after(request, f"{connection.name}: sync started (run {run.pk}).")
    return _after(
        request, f"{connection.name}: a run is already {run.get_status_display().lower()}."
    )


@require_POST
@login_required
def connection_set_enabled(request, pk, *, enabled: bool):
    connection = get_connection_for_user(request, pk)
    sync_services.connection_update(actor=request.user, connection=connection, enabled=enabled)
    verb = "Enabled" if enabled else "Disabled"
    return _after(request, f"{verb}: {connection.name}.")


@require_safe
@login_required
def drive_folder(request, pk):
    """The stage's "Google Docs" tool: the deal's Drive folder once it exists, else Docs."""
    opportunity = get_opportunity_for_user(request, pk)
    folder = google_drive.deal_folder(opportunity.pk)
    if folder is not None:
        return redirect(folder.url)
    return redirect(google_drive.docs_tool_url())
