"""The opportunities list: filters and column sort in the URL, the CSV export of the same rows,
the user's saved views, and bulk actions on the selected deals."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from epos.lib.errors import DomainError
from epos.lib.ids import parse_id
from epos.lib.pagination import DeferredJoinPaginator
from epos.lib.spreadsheet import csv_lines, csv_text
from opportunities import bulk, permissions, selectors, services
from opportunities.filters import DEFAULT_OPPORTUNITY_SORT, list_query_string, opportunity_sort
from opportunities.forms import SavedViewForm
from opportunities.models import Opportunity
from opportunities.views.actions import LOSS_REASONS
from opportunities.views.common import error_text, require_role

LIST_PAGE_SIZE = 50


class ListPaginator(DeferredJoinPaginator):
    """Every page, the first too, is sorted and sliced without the joins; only its 50 rows are
    joined (an owner sort over 100,000 deals: the difference between ~500 and ~150 ms)."""

    first_page_too = True


# The sortable columns of the table: (sort key, title, classes of the cell).
SORT_COLUMNS = (
    ("name", "Opportunity", ""),
    ("account", "Account", "hide-narrow"),
    ("stage", "Stage", "hide-narrow"),
    ("owner", "Owner", "hide-narrow"),
    ("amount", "Amount", "num"),
    ("close", "Expected close", "hide-narrow"),
)
# The sort menu (the one way to sort on a phone, where most columns are hidden).
SORT_CHOICES = (
    ("", "Newest first"),  # the default: left out of the URL
    ("created", "Oldest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("account", "Account, A to Z"),
    ("stage", "Stage, in process order"),
    ("-stage", "Stage, furthest first"),
    ("owner", "Owner, A to Z"),
    ("-amount", "Amount, largest first"),
    ("amount", "Amount, smallest first"),
    ("close", "Closing soonest"),
    ("-close", "Closing latest"),
)


def _list_url(query: str = "") -> str:
    url = reverse("opportunities:opportunity-list")
    return f"{url}?{query}" if query else url


def sort_headers(sort: str) -> list[dict]:
    """Each column's header: the sort a click asks for (the other direction when the list is
    sorted by it, else ascending) and its aria-sort."""
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    headers = []
    for column, title, classes in SORT_COLUMNS:
        current = column == key
        headers.append(
            {
                "key": column,
                "title": title,
                "classes": classes,
                "next": f"-{column}" if current and not descending else column,
                "aria_sort": ("descending" if descending else "ascending") if current else "",
            }
        )
    return headers


@require_safe
@login_required
@vary_on_headers("HX-Request")
def opportunity_list(request):
    """Every opportunity the user may see, filtered like the API (one FilterSet for both) and
    sorted by a column; htmx asking for #list-results gets the table alone (after a bulk
    action)."""
    require_role(request)
    user = request.user
    filterset = selectors.opportunity_list_filtered(user=user, params=request.GET)
    valid = filterset.is_valid()
    rows = filterset.qs if valid else filterset.queryset.none()
    page = ListPaginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    for deal in page.object_list:
        deal.can_edit = permissions.can_edit_opportunity(user, deal)
    can_bulk = any(deal.can_edit for deal in page.object_list)
    query = list_query_string(request.GET)
    sort = opportunity_sort(request.GET.get("sort"))
    asked = QueryDict(query)
    # Open deals are the list's default, whether or not the URL says so.
    active_filters = sum(
        1 for key in asked if key != "sort" and not (key == "outcome" and asked[key] == "open")
    )
    context = {
        "page": page,
        "query": request.GET,
        "list_query": query,
        "active_filters": active_filters,
        "export_url": reverse("opportunities:opportunity-export") + (f"?{query}" if query else ""),
        "sort": "" if sort == DEFAULT_OPPORTUNITY_SORT else sort,
        "headers": sort_headers(sort),
        "sort_choices": SORT_CHOICES,
        "outcome": request.GET.get("outcome", "open"),
        "can_bulk": can_bulk,
        "bulk_limit": bulk.BULK_LIMIT,
        "can_create": permissions.can_create_opportunity(user),
        "errors": None if valid else filterset.errors,
    }
    if request.htmx and request.htmx.target == "list-results":
        return render(request, "opportunities/partials/_list_results.html", context)
    processes = selectors.list_processes_with_stages()
    views = selectors.saved_view_list(user=user)
    context.update(
        {
            "processes": processes,
            "owners": selectors.board_owner_choices(user=user) if can_bulk else [],
            "loss_reasons": LOSS_REASONS,
            "saved_views": views,
            "current_view": next((view for view in views if view.query == query), None),
            "use_cases": Opportunity.UseCase.choices,
            "sources": Opportunity.Source.choices,
            "outcomes": Opportunity.Outcome.choices,
        }
    )
    return render(request, "opportunities/list.html", context)


# --- CSV export ------------------------------------------------------------------------------

EXPORT_HEADER = (
    "ID",
    "Opportunity",
    "Account",
    "Process",
    "Stage",
    "Outcome",
    "Owner",
    "Account executive",
    "Team",
    "Amount",
    "Currency",
    "Product",
    "Use case",
    "Source",
    "Expected close",
    "Created",
    "Closed",
    "Loss reason",
)


def _person(row: dict, prefix: str) -> str:
    first, last = row[f"{prefix}__first_name"], row[f"{prefix}__last_name"]
    return f"{first or ''} {last or ''}".strip() or row[f"{prefix}__username"] or ""


def _moment(value, zone) -> str:
    return value.astimezone(zone).isoformat(timespec="minutes") if value else ""


OUTCOMES = dict(Opportunity.Outcome.choices)
USE_CASES = dict(Opportunity.UseCase.choices)
SOURCES = dict(Opportunity.Source.choices)


def export_row(row: dict, zone) -> list:
    """One line of the export from `selectors.opportunity_export_rows`, times in `zone` (read
    once per export: asking Django for it per cell was half the export's time); text a
    spreadsheet would run as a formula is quoted."""
    text = csv_text
    amount = row["amount"]
    close = row["expected_close_date"]
    return [
        row["pk"],
        text(row["name"]),
        text(row["account__name"] or ""),
        text(row["process__name"]),
        text(row["stage__name"]),
        OUTCOMES.get(row["outcome"], row["outcome"]),
        text(_person(row, "owner")),
        text(_person(row, "account_executive")),
        text(row["team__name"] or ""),
        "" if amount is None else f"{amount:.2f}",
        text(row["currency"]),
        text(row["product"]),
        USE_CASES.get(row["use_case"], row["use_case"]),
        SOURCES.get(row["source"], row["source"]),
        close.isoformat() if close else "",
        _moment(row["created_at"], zone),
        _moment(row["closed_at"], zone),
        text(row["loss_reason"]),
    ]


@require_safe
@login_required
def opportunity_export(request):
    """The list as CSV: every row the filters match (not only the page), in the list's sort,
    for the same user's eyes; streamed, so a long list never sits in memory."""
    require_role(request)
    filterset = selectors.opportunity_list_filtered(user=request.user, params=request.GET)
    if not filterset.is_valid():
        names = ", ".join(filterset.errors)
        return HttpResponse(
            f"Some filters were not understood: {names}.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    zone = timezone.get_current_timezone()
    rows = (export_row(row, zone) for row in selectors.opportunity_export_rows(filterset.qs))
    response = StreamingHttpResponse(
        csv_lines(EXPORT_HEADER, rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="epos-opportunities-{stamp}.csv"'
    return response


# --- saved views -----------------------------------------------------------------------------


@require_POST
@login_required
def saved_view_create(request):
    """Save the list as shown (its filters and sort) under a name; back to that list."""
    require_role(request)
    form = SavedViewForm(request.POST)
    query = list_query_string(QueryDict(request.POST.get("query", "")))
    if not form.is_valid():
        messages.error(request, "Give the view a name (at most 80 characters).")
        return redirect(_list_url(query))
    name = form.cleaned_data["name"]
    try:
        services.saved_view_save(actor=request.user, name=name, query=query)
    except (DomainError, ValidationError) as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Saved the view “{name}”.")
    return redirect(_list_url(query))


@require_POST
@login_required
def saved_view_delete(request, pk: int):
    """Delete one of the user's views; another user's is a 404, as if it did not exist."""
    require_role(request)
    view = selectors.saved_view_get(user=request.user, pk=pk)
    if view is None:
        raise Http404("No such view.")
    name = view.name
    services.saved_view_delete(view=view, actor=request.user)
    messages.success(request, f"Deleted the view “{name}”.")
    return redirect(_list_url(list_query_string(QueryDict(request.POST.get("query", "")))))


# --- bulk actions ----------------------------------------------------------------------------


def _selected_ids(request) -> list[int]:
    """The ids of the ticked deals, in page order, once each; what is not an id is no deal."""
    ids = (parse_id(value) for value in request.POST.getlist("ids"))
    return list(dict.fromkeys(pk for pk in ids if pk is not None))


def _bulk_answer(request, *, report=None, error: str = "", status: int = 200) -> HttpResponse:
    """The report of a bulk action: the fragment over the list for htmx (which then reloads
    the table), a page of its own for a plain form."""
    query = list_query_string(QueryDict(request.POST.get("query", "")))
    context = {
        "report": report,
        "error": error,
        "back_url": _list_url(query),
        "inline": bool(request.htmx),
    }
    if not request.htmx:
        return render(request, "opportunities/bulk_result.html", context, status=status)
    html = render_to_string("opportunities/partials/_bulk_report.html", context, request=request)
    response = HttpResponse(html, status=status)
    if status >= 400:
        # Shown where the report goes, not as an error toast (epos.js swaps a retargeted 4xx).
        retarget(response, "#bulk-report")
        reswap(response, "innerHTML")
    elif report is not None and report.done:
        trigger_client_event(response, "epos:list-changed", {}, after="swap")
    return response


@require_POST
@login_required
def opportunity_bulk(request):
    """Move the selected deals to a stage, or give them to another owner: each deal by the one
    service for that write, each in its own transaction, refusals reported one by one."""
    require_role(request)
    ids = _selected_ids(request)
    if not ids:
        return _bulk_answer(request, error="Select at least one deal first.", status=400)
    if len(ids) > bulk.BULK_LIMIT:
        return _bulk_answer(
            request,
            error=(
                f"You selected {len(ids)} deals; a bulk action takes at most {bulk.BULK_LIMIT} "
                "at a time. Narrow the list with its filters and try again."
            ),
            status=400,
        )
    action = request.POST.get("action")
    if action == "move":
        stage = selectors.stage_with_process(pk=parse_id(request.POST.get("stage")))
        if stage is None:
            return _bulk_answer(request, error="Pick the stage to move them to.", status=400)
        report = bulk.opportunities_bulk_move(
            actor=request.user,
            ids=ids,
            to_stage=stage,
            loss_reason=request.POST.get("loss_reason", "")[:200],
        )
    elif action == "reassign":
        owner = selectors.active_user(pk=parse_id(request.POST.get("owner")))
        if owner is None:
            return _bulk_answer(request, error="Pick the person to give them to.", status=400)
        report = bulk.opportunities_bulk_reassign(actor=request.user, ids=ids, owner=owner)
    else:
        return _bulk_answer(request, error="Choose Move or Reassign.", status=400)
    return _bulk_answer(request, report=report)
