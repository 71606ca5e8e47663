"""The stage board: one column per stage, cards moved by drag and drop or "Move to…"."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from epos.lib.ids import parse_id
from epos.lib.roles import SA, primary_role
from opportunities import permissions, selectors
from opportunities.forms import ANY, ME, BoardFilterForm, board_filters_from_query
from opportunities.measures import weighted_amount
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
                "weighted": weighted_amount(total["amount"], stage.probability)
                if stage.kind == stage.Kind.OPEN
                else None,
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
        "board_title": _board_title(request.user, filters, is_home=is_home),
        # Where a live board starts asking what moved (board_changes).
        "board_since": f"{timezone.now().timestamp():.3f}",
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


def _board_title(user, filters, *, is_home: bool) -> str:
    """Says whose deals the board shows: mine, my teams', or everyone's."""
    if filters.owner_id == user.pk:
        return "My board" if is_home else "My deals"
    if filters.owner_id is not None or filters.team_id is not None:
        return "Board"
    if permissions.opportunity_visibility_q(user) is None:
        return "Everyone’s deals"
    return "My teams’ deals"


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


# A live board asks every few seconds what moved since its last answer. Moves are read with an
# overlap (a move committed a moment after the previous answer still shows) and the page skips
# cards whose version it already has. A board asleep for longer than LIVE_HORIZON, or one that
# missed more than LIVE_MAX_CARDS moves, reloads its columns instead.
LIVE_OVERLAP = timedelta(seconds=5)
LIVE_HORIZON = timedelta(minutes=10)
LIVE_MAX_CARDS = 100
LIVE_MAX_ASKED = 10


@require_safe
@login_required
def board_changes(request, process_slug: str):
    """What changed on a board since ?since= (epoch seconds): 204 when nothing did, else the
    changed cards as <template> elements and the fresh column heads. ?card=<id> (a few) asks
    for cards whatever their moves (a checklist ticked in a cancelled dialog)."""
    require_role(request)
    process = _board_process(process_slug, request.GET.get("version"))
    now = timezone.now()
    since = _parse_since(request.GET.get("since"), now)
    if since is None:
        return _live_answer(HttpResponse(status=205), now, reload=True)
    asked = [
        number
        for number in (parse_id(value) for value in request.GET.getlist("card")[:LIVE_MAX_ASKED])
        if number is not None
    ]
    moved = selectors.board_moved_since(
        process=process, since=since - LIVE_OVERLAP, limit=LIVE_MAX_CARDS + 1
    )
    if len(moved) > LIVE_MAX_CARDS:
        return _live_answer(HttpResponse(status=205), now, reload=True)
    changed = list(dict.fromkeys([*moved, *asked]))
    if not changed:
        return _live_answer(HttpResponse(status=204), now)
    filters = board_filters_from_query(request.GET, user=request.user)
    stages = selectors.board_stages(process=process)
    by_id = {stage.pk: stage for stage in stages}
    cards = selectors.board_cards_by_id(
        user=request.user, process=process, filters=filters, ids=changed
    )
    for card in cards:
        card.stage = by_id[card.stage_id]
        card.can_edit = permissions.can_edit_opportunity(request.user, card)
    shown = {card.pk for card in cards}
    columns = board_columns(
        request, process=process, filters=filters, stages=stages, with_cards=False
    )
    response = render(
        request,
        "opportunities/partials/_board_changes.html",
        {"cards": cards, "gone": [pk for pk in changed if pk not in shown], "columns": columns},
    )
    return _live_answer(response, now)


def _parse_since(value, now):
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds):
        return None
    # Compared as numbers first: a huge value is no date at all.
    if not (now - LIVE_HORIZON).timestamp() <= seconds <= (now + LIVE_OVERLAP).timestamp():
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _live_answer(response, now, *, reload: bool = False):
    response["X-Board-Since"] = f"{now.timestamp():.3f}"
    if reload:
        response["X-Board-Reload"] = "1"
    response["Cache-Control"] = "no-store"
    return response


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
