"""Dashboards, the drill-down list behind their bars, quotas, pilots and the SA workload
(HTML)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget

from epos.lib.errors import DomainError
from epos.lib.htmx import with_message
from metrics import cache as metric_cache
from metrics import dashboard as dashboards
from metrics import permissions, selectors, services, statistics
from metrics import workload as workloads
from metrics.forms import CapacityForm, PilotForm, QuotaForm, WorkloadDrillForm, WorkloadForm
from opportunities.models import ProductGap

DRILLDOWN_PAGE_SIZE = 100
DRILLDOWN_EXPORT_LIMIT = 50_000


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("Your role does not give access to this page.")


def _csv_response(content: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="epos-{name}-{stamp}.csv"'
    return response


@require_safe
@login_required
def dashboard(request):
    """The manager dashboard; `?export=<table>` downloads one of its tables as CSV."""
    _require(permissions.can_view_dashboards(request.user))
    form = dashboards.form_for(user=request.user, data=request.GET)
    context = {
        "form": form,
        "board": None,
        "current": "dashboard",
        "can_view_pilots": permissions.can_view_pilots(request.user),
    }
    if form.is_valid():
        today = timezone.localdate()
        export = request.GET.get("export")
        try:
            scope = selectors.metric_scope(
                user=request.user,
                params=form.metric_params(today),
                # An export is a record: always today's figures.
                allow_stale=dashboards.serves_stale() and not export,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            board = dashboards.build(scope=scope, filters=form.query(), today=today)
            if scope.memo.get("stale"):
                dashboards.refresh_later(
                    scope=scope, user=request.user, query=form.query(), today=today
                )
                context["stale"] = {
                    "as_of": datetime.fromtimestamp(scope.memo["as_of"], tz=UTC),
                    "token": scope.key,
                }
            if export:
                table = board.tables.get(export)
                if table is None:
                    raise Http404("No such table on the dashboard.")
                return _csv_response(table.csv(), export.replace("_", "-"))
            context.update(
                board=board,
                filters=form.query(),
                charts=[chart.spec() for chart in board.charts.values() if chart.labels],
                export_url=f"{reverse('metrics:dashboard')}?{urlencode(form.query())}",
                group_tables=[f"by_{name}" for name in dashboards.GROUP_TABLES],
            )
    status = 200 if context["board"] is not None else 400
    return render(request, "metrics/dashboard.html", context, status=status)


@require_safe
@login_required
def dashboard_freshness(request):
    """Polled by a dashboard showing older figures: 204 while its refresh runs, then a reload."""
    _require(permissions.can_view_dashboards(request.user))
    token = request.GET.get("token", "")
    if token and metric_cache.refresh_pending(token):
        return HttpResponse(status=204)
    return HttpResponseClientRefresh()


DRILL_COLUMNS = (
    ("id", "ID"),
    ("name", "Opportunity"),
    ("account", "Account"),
    ("owner", "Owner"),
    ("team", "Team"),
    ("stage", "Stage"),
    ("outcome", "Outcome"),
    ("amount", "Amount"),
    ("currency", "Currency"),
    ("engaged_at", "Engaged"),
    ("closed_at", "Closed"),
    ("cycle_days", "Days engaged to close"),
)


def _drill_row(opportunity) -> list:
    text = dashboards.csv_text
    return [
        opportunity.pk,
        text(opportunity.name),
        text(opportunity.account.name if opportunity.account else ""),
        text(
            (opportunity.owner.get_full_name() or opportunity.owner.username)
            if opportunity.owner
            else ""
        ),
        text(opportunity.team.name if opportunity.team else ""),
        text(opportunity.stage.name),
        opportunity.get_outcome_display(),
        opportunity.amount,
        opportunity.currency,
        opportunity.engaged_at.isoformat() if opportunity.engaged_at else "",
        opportunity.closed_at.isoformat() if opportunity.closed_at else "",
        "" if opportunity.cycle_days is None else f"{opportunity.cycle_days:.2f}",
    ]


@require_safe
@login_required
def drilldown(request):
    """The opportunities behind one bar or figure of the dashboard, under the same filters."""
    _require(permissions.can_view_dashboards(request.user))
    form = dashboards.form_for(user=request.user, data=request.GET)
    if not form.is_valid():
        return render(request, "metrics/drilldown.html", {"form": form}, status=400)
    today = timezone.localdate()
    drill = request.GET.get("drill", "")
    try:
        scope = selectors.metric_scope(user=request.user, params=form.metric_params(today))
        stage = None
        if request.GET.get("stage"):
            stage = selectors.drilldown_stage(scope=scope, stage_id=request.GET["stage"])
            if stage is None:
                raise Http404("No such stage in this process.")
        opportunities = selectors.drilldown_rows(
            selectors.drilldown(
                scope=scope,
                drill=drill,
                stage=stage,
                group_by=request.GET.get("group_by") or None,
                key=request.GET.get("key"),
            )
        )
    except (DomainError, ValueError) as error:
        message = getattr(error, "message", str(error))
        return render(
            request, "metrics/drilldown.html", {"form": form, "error": message}, status=400
        )
    if request.GET.get("export") == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([title for _, title in DRILL_COLUMNS])
        for opportunity in opportunities[:DRILLDOWN_EXPORT_LIMIT]:
            writer.writerow(_drill_row(opportunity))
        return _csv_response(buffer.getvalue(), f"deals-{drill.replace('_', '-')}")
    page = Paginator(opportunities, DRILLDOWN_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    back = request.GET.copy()
    for name in ("drill", "stage", "group_by", "key", "page", "export"):
        back.pop(name, None)
    return render(
        request,
        "metrics/drilldown.html",
        {
            "form": form,
            "page": page,
            "title": selectors.DRILLS[drill],
            "stage": stage,
            "group_label": selectors.group_label(
                request.GET.get("group_by"), request.GET.get("key")
            ),
            "scope": scope,
            "query": query.urlencode(),
            "back_url": f"{reverse('metrics:dashboard')}?{back.urlencode()}",
        },
    )


# --- quotas -----------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def quotas(request):
    """Quotas the user may see, and a form to set one (managers for their teams, admins)."""
    _require(permissions.can_view_dashboards(request.user))
    can_manage = permissions.can_manage_quotas(request.user)
    form = QuotaForm(request.POST or None, users_queryset=selectors.quota_people(user=request.user))
    if request.method == "POST":
        _require(can_manage)
        if form.is_valid():
            try:
                quota = services.quota_set(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, f"Quota saved: {quota}.")
                return redirect("metrics:quotas")
    today = timezone.localdate()
    return render(
        request,
        "metrics/quotas.html",
        {
            "form": form if can_manage else None,
            "rows": selectors.quota_attainment(user=request.user, on=today),
            "today": today,
            "current": "quotas",
            "can_view_pilots": permissions.can_view_pilots(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


# --- pilots -----------------------------------------------------------------------------------


@require_safe
@login_required
def pilot_list(request):
    _require(permissions.can_view_pilots(request.user))
    today = timezone.localdate()
    pilots = [(pilot, pilot.status_on(today)) for pilot in selectors.pilot_list()]
    return render(
        request,
        "metrics/pilot_list.html",
        {"pilots": pilots, "can_manage": permissions.can_manage_pilots(request.user)},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def pilot_create(request):
    _require(permissions.can_manage_pilots(request.user))
    form = PilotForm(
        request.POST or None, members_queryset=selectors.pilot_members(user=request.user)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            pilot = services.pilot_create(actor=request.user, **data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Pilot “{pilot.name}” created.")
            return redirect("metrics:pilot-detail", pk=pilot.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "metrics/pilot_form.html", {"form": form}, status=status)


@require_safe
@login_required
def pilot_detail(request, pk):
    _require(permissions.can_view_pilots(request.user))
    pilot = selectors.pilot_get(pk)
    if pilot is None:
        raise Http404("No such pilot.")
    comparison = statistics.compare(pilot, selectors.pilot_arms(pilot))
    chart = {
        "id": "chart-pilot_mttc",
        "type": "bar",
        "labels": ["Pilot arm", "Control arm"],
        "datasets": [
            {
                "label": "MTTC mean (days)",
                "data": [arm.mttc_mean for arm in comparison.arms.values()],
            },
            {
                "label": "MTTC median (days)",
                "data": [arm.mttc_median for arm in comparison.arms.values()],
            },
        ],
        "horizontal": False,
        "yTitle": "days",
        "percent": False,
    }
    return render(
        request,
        "metrics/pilot_detail.html",
        {
            "pilot": pilot,
            "status": pilot.status_on(timezone.localdate()),
            "comparison": comparison,
            "arms": comparison.arms,
            "charts": [chart],
            "can_roll_out": permissions.can_roll_out(request.user) and not pilot.rolled_out_at,
        },
    )


@require_POST
@login_required
def pilot_roll_out(request, pk):
    _require(permissions.can_roll_out(request.user))
    pilot = selectors.pilot_get(pk)
    if pilot is None:
        raise Http404("No such pilot.")
    try:
        pilot = services.pilot_roll_out(pilot=pilot, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{pilot.process} is now the active version; {pilot.baseline_process} is retired.",
        )
    return redirect("metrics:pilot-detail", pk=pk)


# --- workload ---------------------------------------------------------------------------------

WORKLOAD_PAGE_SIZE = 100


def _workload_form(request, data, form_class=WorkloadForm):
    return form_class(
        data,
        teams=list(selectors.workload_teams(request.user)),
        processes=list(selectors.dashboard_processes()),
    )


def _workload_context(request, form, *, errors: dict | None = None) -> dict:
    """The page's figures under the form's (valid) filters."""
    window = form.chosen_window()
    data = selectors.sa_workload(
        user=request.user,
        teams=form.chosen_teams(),
        process=form.chosen_process(),
        now=timezone.now(),
    )
    query = form.query()
    return {
        "form": form,
        "page": workloads.build(data, window=window, filters=query, editable=True, errors=errors),
        "query": query,
        "export_url": f"{reverse('metrics:workload')}?{urlencode({**query, 'export': 'csv'})}",
    }


@require_safe
@login_required
def workload(request):
    """Managers' view of their SAs: open deals, hours against capacity, deals past target,
    and per team the product gaps with the pipeline at risk; `?export=csv` downloads the
    per-SA table."""
    _require(permissions.can_view_workload(request.user))
    form = _workload_form(request, request.GET)
    if not form.is_valid():
        return render(request, "metrics/workload.html", {"form": form}, status=400)
    context = _workload_context(request, form)
    if request.GET.get("export") == "csv":
        page = context["page"]
        return _csv_response(page.table.csv(), f"workload-{page.window}d")
    return render(request, "metrics/workload.html", context)


@require_POST
@login_required
def workload_capacity(request, user_id: int):
    """Set an SA's weekly capacity from the workload table. htmx gets the page's figures again
    (utilisation follows the capacity), a plain form a redirect; bad input is a 400 that shows
    its message next to the field."""
    _require(permissions.can_view_workload(request.user))
    sa = selectors.active_sa_get(user_id)
    if sa is None:
        raise Http404("No such SA.")
    _require(permissions.can_set_capacity(request.user, sa))
    # The page's filters come in the query string (metrics.workload.Links.capacity).
    filters = _workload_form(request, request.GET)
    if not filters.is_valid():
        filters = _workload_form(request, {})
        filters.is_valid()
    capacity_form = CapacityForm(request.POST)
    error = ""
    if capacity_form.is_valid():
        try:
            capacity = services.sa_capacity_set(
                actor=request.user, sa=sa, weekly_hours=capacity_form.cleaned_data["weekly_hours"]
            )
        except DomainError as exc:
            error = exc.message
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(capacity_form.errors["weekly_hours"])
    name = sa.get_full_name() or sa.username
    if not request.htmx:
        if error:
            messages.error(request, f"{name}: {error}")
        else:
            messages.success(
                request, f"Capacity of {name}: {capacity.weekly_hours:g} hours a week."
            )
        return redirect(f"{reverse('metrics:workload')}?{urlencode(filters.query())}")
    context = _workload_context(request, filters, errors={sa.pk: error} if error else None)
    html = render_to_string("metrics/partials/_workload_body.html", context, request=request)
    if error:
        response = HttpResponse(html, status=400)
        # epos.js swaps a retargeted 4xx: the message shows next to the field.
        retarget(response, "#workload-body")
        reswap(response, "outerHTML")
        return response
    return with_message(
        HttpResponse(html), f"Capacity of {name}: {capacity.weekly_hours:g} hours a week."
    )


@require_safe
@login_required
def workload_deals(request):
    """The deals behind a number of the workload page: an SA's deals past target or with hours
    in the window, or a team's open deals with a gap of one severity."""
    _require(permissions.can_view_workload(request.user))
    form = _workload_form(request, request.GET, WorkloadDrillForm)
    if not form.is_valid():
        return render(request, "metrics/workload_deals.html", {"form": form}, status=400)
    data = form.cleaned_data
    sa = None
    if data.get("sa"):
        sa = selectors.workload_sa(user=request.user, pk=data["sa"])
        if sa is None:
            raise Http404("No such SA in your teams.")
    window = form.chosen_window()
    deals = selectors.workload_deals(
        user=request.user,
        drill=data["drill"],
        now=timezone.now(),
        owner_id=sa["id"] if sa else None,
        team_ids=[team.pk for team in form.chosen_teams()],
        window=window,
        severity=data.get("severity") or None,
        process=form.chosen_process(),
    )
    page = Paginator(deals, WORKLOAD_PAGE_SIZE).get_page(request.GET.get("page"))
    team = data.get("team")
    return render(
        request,
        "metrics/workload_deals.html",
        {
            "form": form,
            "page": page,
            "drill": data["drill"],
            "sa": sa,
            "window": window,
            "severity": dict(ProductGap.Severity.choices).get(data.get("severity") or ""),
            "team": next((t for t in form.teams if t.pk == team), None),
            "process": form.chosen_process(),
            "back_url": f"{reverse('metrics:workload')}?{urlencode(form.query())}",
        },
    )
