"""The opportunity page (the guided path), create and edit (the list: views/listing.py)."""

from __future__ import annotations

from copy import copy
from datetime import UTC
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_http_methods, require_safe

from epos.lib.errors import DomainError, InvalidInput, StaleVersion
from epos.lib.ids import parse_id
from epos.lib.roles import SA, primary_role
from opportunities import permissions, selectors, services, timeline
from opportunities.forms import (
    ActivityForm,
    EsatInviteForm,
    OpportunityCreateForm,
    OpportunityForm,
    ProductGapForm,
    QualificationForm,
)
from opportunities.models import Opportunity, Qualification
from opportunities.views.common import error_text, get_opportunity_for_user


def qualification_of(opportunity: Opportunity) -> Qualification | None:
    try:
        return opportunity.qualification
    except Qualification.DoesNotExist:
        return None


UNDO_SECONDS = 10


def timeline_context(request, opportunity: Opportunity) -> dict:
    """The deal's timeline as the page and its fragment show it: the kinds asked for in
    ?kind=…, the entries before ?before=… (an ISO time; a bad one is a 400)."""
    selected = timeline.parse_kinds(request.GET.getlist("kind"))
    before = None
    raw = request.GET.get("before")
    if raw:
        try:
            before = parse_datetime(raw)
        except ValueError:
            before = None
        if before is None:
            raise InvalidInput("“before” must be a date and time like 2026-05-01T10:00:00+00:00.")
        if timezone.is_naive(before):
            before = timezone.make_aware(before, UTC)
    entries, more = timeline.deal_timeline(opportunity, kinds=selected or None, before=before)
    return {
        "timeline": entries,
        "timeline_more": more,
        "timeline_next": entries[-1].at.isoformat() if entries else "",
        "timeline_before": before,
        "timeline_kinds": timeline.kinds(),
        "timeline_selected": selected,
        "timeline_query": urlencode([("kind", kind) for kind in selected]),
    }


def _undo(user, opportunity: Opportunity, transitions: list, stages: list) -> dict | None:
    """The move the user just made (in the last UNDO_SECONDS), offered back as a move."""
    if not transitions:
        return None
    last = transitions[-1]
    if last.moved_by_id != user.pk or last.from_stage_id is None:
        return None
    if last.to_stage_id != opportunity.stage_id:
        return None
    age = (timezone.now() - last.moved_at).total_seconds()
    if not 0 <= age < UNDO_SECONDS:
        return None
    back = next((stage for stage in stages if stage.pk == last.from_stage_id), None)
    if back is None:
        return None
    return {"stage": back, "until": int(last.moved_at.timestamp() + UNDO_SECONDS)}


def opportunity_page_context(request, opportunity: Opportunity) -> dict:
    """Everything the opportunity page shows, in a fixed number of queries."""
    user = request.user
    stages = selectors.process_stages_with_items(process=opportunity.process)
    current = next(stage for stage in stages if stage.pk == opportunity.stage_id)
    completions = selectors.checklist_by_item(opportunity=opportunity)
    transitions = list(selectors.transition_list(opportunity=opportunity))
    entered = {transition.to_stage_id for transition in transitions}
    qualification = qualification_of(opportunity)
    contacts = selectors.account_contacts(account=opportunity.account)
    open_stages = [stage for stage in stages if stage.kind == "open"]
    next_stage = (
        next((stage for stage in open_stages if stage.position > current.position), None)
        if current.kind == "open"
        else None
    )
    if current.kind == "open" and next_stage is None:
        next_stage = next((stage for stage in stages if stage.kind == "won"), None)
    checklist = [
        {"item": item, "completion": completions.get(item.pk)} for item in current.items.all()
    ]
    return {
        "opportunity": opportunity,
        "stages": stages,
        "current_stage": current,
        "next_stage": next_stage,
        "path": selectors.stage_path(stages=stages, current=current, entered_ids=entered),
        "checklist": checklist,
        "required_open": sum(
            1
            for row in checklist
            if row["item"].required and not (row["completion"] and row["completion"].done)
        ),
        "transitions": transitions,
        "qualification": qualification,
        "qualification_form": QualificationForm(instance=qualification or Qualification()),
        "activity_count": selectors.opportunity_activity_count(opportunity=opportunity),
        "activity_form": ActivityForm(),
        "gaps": selectors.opportunity_product_gaps(opportunity=opportunity),
        "gap_form": ProductGapForm(),
        "esat_responses": selectors.opportunity_esat_responses(opportunity=opportunity),
        "esat_invitations": selectors.opportunity_esat_invitations(opportunity=opportunity),
        "esat_form": EsatInviteForm(contacts=contacts),
        "contacts": contacts,
        "can_edit": (can_edit := permissions.can_edit_opportunity(user, opportunity)),
        "can_override": permissions.can_override_gate(user, opportunity),
        "undo": _undo(user, opportunity, transitions, stages) if can_edit else None,
        "stage_menu": [
            {"id": stage.pk, "name": stage.name, "kind": stage.kind} for stage in stages
        ],
    }


@require_safe
@login_required
def opportunity_detail(request, pk: int):
    opportunity = selectors.opportunity_detail(user=request.user, pk=pk)
    if opportunity is None:
        get_opportunity_for_user(request, pk)  # raises the 404
    context = opportunity_page_context(request, opportunity)
    try:
        context.update(timeline_context(request, opportunity))
    except InvalidInput:
        context.update(timeline_context(_without_before(request), opportunity))
    return render(request, "opportunities/detail.html", context)


def _without_before(request):
    clean = copy(request)
    clean.GET = request.GET.copy()
    clean.GET.pop("before", None)
    return clean


@require_safe
@login_required
def opportunity_timeline(request, pk: int):
    """The timeline as an htmx fragment: filtered by kind, or the next older page."""
    opportunity = get_opportunity_for_user(request, pk)
    try:
        context = timeline_context(request, opportunity)
    except InvalidInput as exc:
        return HttpResponseBadRequest(exc.message, content_type="text/plain; charset=utf-8")
    context["opportunity"] = opportunity
    if not request.htmx:
        query = context["timeline_query"]
        url = reverse("opportunities:opportunity-detail", args=[pk])
        return redirect(f"{url}{'?' + query if query else ''}#timeline")
    template = "_timeline_items.html" if context["timeline_before"] else "_timeline.html"
    return render(request, f"opportunities/partials/{template}", context)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def opportunity_create(request):
    if not permissions.can_create_opportunity(request.user):
        raise PermissionDenied("Your role may not create opportunities.")
    processes = selectors.active_processes()
    teams = selectors.assignable_team_choices(user=request.user)
    initial = {}
    wanted = request.GET.get("process", "")
    if wanted:
        number = parse_id(wanted)
        lookup = {"pk": number} if number is not None else {"slug": wanted}
        initial["process"] = processes.filter(**lookup).first()
    else:
        initial["process"] = selectors.board_default_process(
            user=request.user, mine_only=primary_role(request.user) == SA
        )
    accounts = selectors.account_list(user=request.user).order_by("name")
    wanted_account = parse_id(request.GET.get("account"))
    if wanted_account is not None and request.method != "POST":
        account = accounts.filter(pk=wanted_account).first()
        if account is not None:
            initial["account"] = account.pk
            initial["new_account_name"] = account.name
    form = OpportunityCreateForm(
        request.POST or None,
        processes=processes,
        teams=teams,
        accounts=accounts,
        people=selectors.board_owner_choices(user=request.user),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                account = data["account"]
                if data["new_account_name"]:
                    account = services.account_create(
                        actor=request.user, name=data["new_account_name"].strip()
                    )
                opportunity = services.opportunity_create(
                    actor=request.user,
                    process=data["process"],
                    name=data["name"].strip(),
                    account=account,
                    team=data["team"],
                    account_executive=data["account_executive"],
                    amount=data["amount"],
                    currency=data["currency"],
                    product=data["product"],
                    use_case=data["use_case"],
                    source=data["source"],
                    approach=data["approach"],
                    expected_close_date=data["expected_close_date"],
                )
        except services.AssignmentRefused as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            if exc.status_code == 403:
                raise PermissionDenied(exc.message) from exc
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, f"Created “{opportunity.name}” in {opportunity.stage.name}.")
            return redirect("opportunities:opportunity-detail", pk=opportunity.pk)
    return render(request, "opportunities/create.html", {"form": form})


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def opportunity_edit(request, pk: int):
    opportunity = get_opportunity_for_user(request, pk)
    if not permissions.can_edit_opportunity(request.user, opportunity):
        raise PermissionDenied("You may not change this opportunity.")
    people = selectors.board_owner_choices(user=request.user)
    form = OpportunityForm(
        request.POST or None,
        instance=opportunity,
        initial={"expected_version": opportunity.version},
        owners=people,
        teams=selectors.assignable_team_choices(user=request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(
                opportunity=Opportunity.objects.get(pk=opportunity.pk),
                actor=request.user,
                expected_version=form.cleaned_data["expected_version"],
                **form.changes(),
            )
        except StaleVersion:
            form.add_error(
                None,
                "Someone changed this opportunity while you were editing. Reload the page to "
                "see their change, then edit again.",
            )
        except services.AssignmentRefused as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            if exc.status_code == 403:
                raise PermissionDenied(exc.message) from exc
            form.add_error(None, exc.message)
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, "Opportunity saved.")
            return redirect("opportunities:opportunity-detail", pk=opportunity.pk)
    return render(request, "opportunities/edit.html", {"form": form, "opportunity": opportunity})
