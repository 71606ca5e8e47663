"""The opportunity page (the guided path), the opportunities list, create and edit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from epos.lib.errors import DomainError, StaleVersion
from epos.lib.ids import parse_id
from epos.lib.roles import SA, primary_role
from opportunities import permissions, selectors, services
from opportunities.filters import OpportunityFilter
from opportunities.forms import (
    ActivityForm,
    EsatInviteForm,
    OpportunityCreateForm,
    OpportunityForm,
    ProductGapForm,
    QualificationForm,
)
from opportunities.models import Opportunity, Qualification
from opportunities.views.common import error_text, get_opportunity_for_user, require_role

LIST_PAGE_SIZE = 50


def qualification_of(opportunity: Opportunity) -> Qualification | None:
    try:
        return opportunity.qualification
    except Qualification.DoesNotExist:
        return None


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
        "activities": selectors.opportunity_activities(opportunity=opportunity),
        "activity_form": ActivityForm(),
        "gaps": selectors.opportunity_product_gaps(opportunity=opportunity),
        "gap_form": ProductGapForm(),
        "esat_responses": selectors.opportunity_esat_responses(opportunity=opportunity),
        "esat_invitations": selectors.opportunity_esat_invitations(opportunity=opportunity),
        "esat_form": EsatInviteForm(contacts=contacts),
        "contacts": contacts,
        "can_edit": permissions.can_edit_opportunity(user, opportunity),
        "can_override": permissions.can_override_gate(user, opportunity),
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
    return render(
        request, "opportunities/detail.html", opportunity_page_context(request, opportunity)
    )


@require_safe
@login_required
def opportunity_list(request):
    """Every opportunity the user may see, filtered like the API (one FilterSet for both)."""
    require_role(request)
    queryset = selectors.opportunity_list(user=request.user)
    data = request.GET.copy()
    if data.get("owner") == "me":
        data["owner"] = str(request.user.pk)
    if "outcome" not in data:
        data["outcome"] = "open"
    elif data.get("outcome") == "all":
        data.pop("outcome")
    filterset = OpportunityFilter(data, queryset=queryset.order_by("-created_at", "-pk"))
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    page = Paginator(rows, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "opportunities/list.html",
        {
            "page": page,
            "processes": list(selectors.active_processes()),
            "query": request.GET,
            "outcome": request.GET.get("outcome", "open"),
            "use_cases": Opportunity.UseCase.choices,
            "sources": Opportunity.Source.choices,
            "outcomes": Opportunity.Outcome.choices,
            "can_create": permissions.can_create_opportunity(request.user),
            "errors": None if filterset.is_valid() else filterset.errors,
        },
    )


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
    if parse_id(request.GET.get("account")) is not None:
        initial["account"] = parse_id(request.GET["account"])
    form = OpportunityCreateForm(
        request.POST or None, processes=processes, teams=teams, initial=initial
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
