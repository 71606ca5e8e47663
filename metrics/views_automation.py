"""The automation page: how much of the checklist completes itself, per stage, and the time that
saves (metrics.selectors.automation)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_safe

from epos.lib.ids import parse_id
from metrics import permissions, selectors

WINDOWS = (30, 90, 180)


@require_safe
@login_required
def automation(request):
    if not permissions.can_view_pilots(request.user):  # managers, curators, admins
        raise PermissionDenied("Your role does not give access to this page.")
    days = parse_id(request.GET.get("days"))
    days = days if days in WINDOWS else selectors.automation.WINDOW_DAYS
    report = selectors.automation_report(user=request.user, days=days)
    return render(
        request,
        "metrics/automation.html",
        {"report": report, "windows": WINDOWS, "days": days, "can_view_pilots": True},
    )
