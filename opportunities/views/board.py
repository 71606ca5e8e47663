"""The stage board: one column per stage, cards moved by drag and drop or "Move to…"."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from epos.lib.ids import parse_id
from epos.lib.roles import SA, primary_role
from opportunities import permissions, selectors
from opportunities.forms import ANY, ME, BoardFilterForm
from opportunities.views.common import require_role
from stages.models import Process


def _board_process(slug: str, version: str | None) -> Process:
    number = parse_id(version) if version else None
    if version and number is None:
        raise Http404("No such process version.")
    process = selectors.board_process(slug=slug, version=number)
    if process is None:
        raise Http404("No such process.")
    return process


def board_filter_form(request, *, data, default_owner: str) -> BoardFilterForm:
    return BoardFilterForm(
        data,
        user=request.user,
        owners=selectors.board_owner_choices(user=request.user),
        teams=selectors.team_choices(user=request.user),
        default_owner=default_owner,
    )


def board_columns(request, *, process: Process, filters, stages=None, with_cards=True) -> list:
    """The columns as the templates use them: stage, totals and (optionally) the first cards."""
    user = request.user
    stages = stages if stages is not None else selectors.board_stages(process=process)
    totals = selectors.board_column_totals(user=user, process=process, filters=filters)
    cards_by_stage: dict[int, list] = {stage.pk: [] for stage in stages}
    if with_cards:
        for card in selectors.board_cards(user=user, process=process, filters=filters):
            card.can_edit = permissions.can_edit_opportunity(user, card)
            cards_by_stage.setdefault(card.stage_id, []).append(card)
    columns = []
    for stage in stages:
        total = totals.get(stage.pk, {"count": 0, "amount": 0, "currency": None})
        cards = cards_by_stage.get(stage.pk, [])
        for card in cards:
            card.stage = stage
        columns.append(
            {
                "stage": stage,
                "cards": cards,
                "count": total["count"],
                "amount": total["amount"],
                "currency": total["currency"],
                "more": total["count"] > len(cards),
            }
        )
    return columns


def _render_board(request, *, process: Process | None, default_owner: str, is_home: bool):
    form = board_filter_form(request, data=request.GET, default_owner=default_owner)
    filters = form.filters()
    context = {
        "process": process,
        "processes": list(selectors.active_processes()),
        "form": form,
        "filters": filters,
        "is_home": is_home,
        "board_query": _effective_query(form),
        "can_create": permissions.can_create_opportunity(request.user),
    }
    if process is not None:
        stages = selectors.board_stages(process=process)
        context["columns"] = board_columns(request, process=process, filters=filters, stages=stages)
        context["stages"] = stages
        context["board_empty"] = not any(column["count"] for column in context["columns"])
        context["stage_menu"] = [
            {"id": stage.pk, "name": stage.name, "kind": stage.kind} for stage in stages
        ]
    template = "opportunities/board.html"
    if request.htmx and request.htmx.target == "board":
        template = "opportunities/partials/_board.html"
    return render(request, template, context)


def _effective_query(form: BoardFilterForm) -> str:
    """The filters in force, defaults included, for requests the board makes later."""
    form.is_valid()
    data = {key: value for key, value in form.cleaned_data.items() if value}
    data.setdefault("owner", ANY)
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query[key] = str(value)
    return query.urlencode()


@require_safe
@login_required
@vary_on_headers("HX-Request")
def home(request):
    """My board: an SA's own open deals, a manager's teams', in the process used most."""
    require_role(request)
    mine_only = primary_role(request.user) == SA
    process = selectors.board_default_process(user=request.user, mine_only=mine_only)
    return _render_board(
        request, process=process, default_owner=ME if mine_only else ANY, is_home=True
    )


@require_safe
@login_required
@vary_on_headers("HX-Request")
def board(request, process_slug: str):
    require_role(request)
    process = _board_process(process_slug, request.GET.get("version"))
    return _render_board(request, process=process, default_owner=ANY, is_home=False)


@require_safe
@login_required
def board_column(request, process_slug: str, stage_id: int):
    """The next cards of one column ("Load more"), as an htmx fragment."""
    require_role(request)
    process = _board_process(process_slug, request.GET.get("version"))
    stage = selectors.process_stage(process_id=process.pk, pk=stage_id)
    if stage is None:
        raise Http404("No such stage in this process.")
    offset = parse_id(request.GET.get("offset"))
    if offset is None:
        offset = selectors.BOARD_PAGE_SIZE
    form = board_filter_form(request, data=request.GET, default_owner=ANY)
    filters = form.filters()
    page = selectors.BOARD_PAGE_SIZE
    cards = selectors.board_column_cards(
        user=request.user,
        process=process,
        stage=stage,
        filters=filters,
        offset=offset,
        limit=page + 1,
    )
    more = len(cards) > page
    cards = cards[:page]
    stage.required_count = stage.items.filter(required=True).count()
    for card in cards:
        card.stage = stage
        card.can_edit = permissions.can_edit_opportunity(request.user, card)
    return render(
        request,
        "opportunities/partials/_column_more.html",
        {
            "process": process,
            "stage": stage,
            "cards": cards,
            "more": more,
            "next_offset": offset + page,
            "board_query": _effective_query(form),
        },
    )
