"""The one way a view tells the page what happened: an "epos:toast" client event (django-htmx's
trigger_client_event), shown by epos.js. Failures are reported by epos.js from the status."""

from django.http import HttpResponse
from django_htmx.http import trigger_client_event


def with_message(response: HttpResponse, message: str) -> HttpResponse:
    if message:
        trigger_client_event(response, "epos:toast", {"message": message})
    return response


def deal_changed(response: HttpResponse, *, evidence: bool = True) -> HttpResponse:
    """Tell the deal page that something on the deal changed: its timeline reloads itself, and
    with `evidence` (what was recorded may complete checklist items, opportunities.automation)
    so does the checklist."""
    trigger_client_event(response, "epos:deal-changed", {})
    if evidence:
        trigger_client_event(response, "epos:evidence", {})
    return response
