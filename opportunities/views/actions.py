"""Writes from the board and the opportunity page. Each calls one service; htmx requests get a
re-rendered fragment back, plain form posts a redirect with a message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh, reswap, retarget, trigger_client_event

from epos.lib.errors import DomainError, Forbidden, GateBlocked, InvalidInput, StaleVersion
from epos.lib.htmx import deal_changed
from opportunities import permissions, selectors, services
from opportunities.forms import (
    ActivityForm,
    ChecklistItemForm,
    EsatInviteForm,
    MoveForm,
    ProductGapForm,
    QualificationForm,
    board_filters_from_query,
)
from opportunities.models import Opportunity, Qualification
from opportunities.views.board import board_columns
from opportunities.views.common import (
    error_text,
    get_opportunity_for_user,
    refuse,
    section_or_redirect,
)
from opportunities.views.detail import opportunity_page_context, qualification_of
from stages.rules import LossReasonMissing

LOSS_REASONS = (
    "Price",
    "Lost to a competitor",
    "No budget",
    "Missing capability",
    "No decision",
    "Timing",
)


def _detail_url(opportunity) -> str:
    return reverse("opportunities:opportunity-detail", args=[opportunity.pk])


# --- moving a deal ---------------------------------------------------------------------------


def _dialog(request, *, kind: str, status: int, context: dict) -> HttpResponse:
    """The dialog that explains a refused move, shown in the move dialog whatever the request
    aimed at (htmx swaps it there: HX-Retarget, and epos.js lets a retargeted 4xx swap)."""
    html = render_to_string(
        "opportunities/partials/_move_dialog.html", {"kind": kind, **context}, request=request
    )
    response = HttpResponse(html, status=status)
    response["X-Epos-Move"] = kind
    retarget(response, "#move-dialog-body")
    reswap(response, "innerHTML")
    return trigger_client_event(response, "epos:move-dialog", {"kind": kind}, after="swap")


@require_POST
@login_required
def opportunity_move(request, pk: int):
    """Move a deal to a stage through the one move service.

    The answer is HTML either way: the re-rendered card (and fresh column totals) when the
    move went through, or the dialog that explains what is missing: open required items (409),
    a loss reason (400), a stale version (409) or a refusal (403).
    """
    opportunity = get_opportunity_for_user(request, pk)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _dialog(
            request,
            kind="error",
            status=400,
            context={"opportunity": opportunity, "message": "That move request is incomplete."},
        )
    data = form.cleaned_data
    to_stage = selectors.stage_get(pk=data["stage"])
    base = {"opportunity": opportunity, "to_stage": to_stage, "form_data": data}
    if to_stage is None:
        return _dialog(
            request, kind="error", status=400, context={**base, "message": "No such stage."}
        )
    try:
        moved = services.opportunity_move_to_stage(
            opportunity=opportunity,
            to_stage=to_stage,
            actor=request.user,
            note=data["note"],
            override_reason=data["override_reason"],
            loss_reason=data["loss_reason"],
            expected_version=data["expected_version"],
            qualified_out=data["qualified_out"],
        )
    except LossReasonMissing:
        return _dialog(
            request, kind="lost", status=400, context={**base, "loss_reasons": LOSS_REASONS}
        )
    except GateBlocked as exc:
        gate = _gate(request, opportunity, exc)
        return _dialog(request, kind="gate", status=409, context={**base, **gate})
    except StaleVersion:
        fresh = selectors.board_card(user=request.user, pk=opportunity.pk)
        if fresh is not None:
            stages = {s.pk: s for s in selectors.board_stages(process=opportunity.process)}
            fresh.stage = stages[fresh.stage_id]
            fresh.can_edit = permissions.can_edit_opportunity(request.user, fresh)
        return _dialog(request, kind="stale", status=409, context={**base, "fresh": fresh})
    except Forbidden as exc:
        return _dialog(
            request, kind="forbidden", status=403, context={**base, "message": exc.message}
        )
    except (InvalidInput, ValidationError) as exc:
        return _dialog(
            request, kind="error", status=400, context={**base, "message": error_text(exc)}
        )

    message = f"Moved “{moved.name}” to {to_stage.name}."
    if not request.htmx or "board_query" not in request.POST:
        # A plain form, or the opportunity page, whose every section depends on the stage:
        # the page is loaded again and shows the message there.
        messages.success(request, message)
        if request.htmx:
            return HttpResponseClientRefresh()
        return redirect(_detail_url(moved))
    return _move_success(
        request,
        moved=moved,
        process=opportunity.process,
        message=message,
        from_stage_id=opportunity.stage_id,
    )


def _gate(request, opportunity, exc: GateBlocked) -> dict:
    """What the gate dialog shows: the open items of each stage the move owes, to tick here."""
    unmet_ids = [row["id"] for row in exc.extra["unmet_items"] if row["id"] is not None]
    rows = selectors.gate_items(opportunity=opportunity, item_ids=unmet_ids)
    return {
        "message": exc.message,
        "stages": list(dict.fromkeys(row["item"].stage for row in rows)),
        "items": rows,
        "open_count": sum(1 for row in rows if not (row["completion"] and row["completion"].done)),
        "can_override": permissions.can_override_gate(request.user, opportunity),
        "override_reason": request.POST.get("override_reason", ""),
    }


def _move_success(
    request, *, moved: Opportunity, process, message: str, from_stage_id: int
) -> HttpResponse:
    """The moved card plus every column header of the board it sits on (out-of-band). The
    board says what happened itself, with an Undo (a move back to `from`)."""
    card = selectors.board_card(user=request.user, pk=moved.pk)
    context = {"card": card, "message": message}
    board_query = request.POST.get("board_query")
    if board_query is not None and card is not None:
        filters = board_filters_from_query(QueryDict(board_query), user=request.user)
        stages = selectors.board_stages(process=process)
        card.can_edit = permissions.can_edit_opportunity(request.user, card)
        card.stage = next(stage for stage in stages if stage.pk == card.stage_id)
        context["columns"] = board_columns(
            request, process=process, filters=filters, stages=stages, with_cards=False
        )
    response = HttpResponse(
        render_to_string("opportunities/partials/_move_success.html", context, request=request)
    )
    response["X-Epos-Move"] = "moved"
    return trigger_client_event(
        response,
        "epos:moved",
        {"id": moved.pk, "stage": moved.stage_id, "from": from_stage_id, "message": message},
        after="settle",
    )


# --- the checklist ---------------------------------------------------------------------------


@require_POST
@login_required
def checklist_item_update(request, pk: int, item_pk: int):
    """Tick or untick one checklist item, with an optional evidence link and note."""
    opportunity = get_opportunity_for_user(request, pk)
    item = selectors.process_item(process_id=opportunity.process_id, pk=item_pk)
    if item is None:
        raise Http404("No such checklist item.")
    existing = selectors.checklist_completion(opportunity=opportunity, item=item)
    form = ChecklistItemForm(request.POST)
    variant = "dialog" if request.POST.get("variant") == "dialog" else "page"
    context = {
        "opportunity": opportunity,
        "item": item,
        "completion": existing,
        "form": form,
        "can_edit": permissions.can_edit_opportunity(request.user, opportunity),
    }
    template = f"opportunities/partials/_checklist_item_{variant}.html"
    if not form.is_valid():
        if request.htmx:
            return HttpResponse(render_to_string(template, context, request=request))
        messages.error(request, error_text(ValidationError(form.errors)))
        return redirect(_detail_url(opportunity))
    data = form.cleaned_data
    # A tick from the gate dialog sends no evidence or note: keep what was written before.
    evidence = data["evidence_url"] if "evidence_url" in request.POST else None
    note = data["note"] if "note" in request.POST else None
    try:
        completion = services.checklist_item_set(
            opportunity=opportunity,
            item=item,
            actor=request.user,
            done=data["done"],
            evidence_url=evidence
            if evidence is not None
            else getattr(existing, "evidence_url", ""),
            note=note if note is not None else getattr(existing, "note", ""),
        )
    except (DomainError, ValidationError) as exc:
        return refuse(request, exc, url=_detail_url(opportunity))
    context.update(completion=completion, form=None, saved=True)
    # A tick in the gate dialog shows itself there; the move that follows says what happened.
    message = "" if variant == "dialog" else _tick_message(item, existing, completion)
    response = section_or_redirect(
        request, template=template, context=context, message=message, url=_detail_url(opportunity)
    )
    return deal_changed(response, evidence=False) if request.htmx else response


def _tick_message(item, before, after) -> str:
    """What changed, in the user's words: ticked, unticked, or evidence and note saved."""
    was_done = bool(before and before.done)
    if after.done and not was_done:
        return f"“{item.title}” done."
    if was_done and not after.done:
        return f"“{item.title}” is open again."
    return f"Evidence and note saved for “{item.title}”."


# --- sections of the opportunity page -------------------------------------------------------


def _section(request, opportunity, template: str, message: str, **overrides) -> HttpResponse:
    context = opportunity_page_context(request, opportunity) if request.htmx else {}
    context.update(overrides)
    response = section_or_redirect(
        request,
        template=template,
        context=context,
        message=message,
        url=_detail_url(opportunity),
    )
    return deal_changed(response) if request.htmx else response


def _invalid_section(request, opportunity, template: str, **forms) -> HttpResponse:
    if request.htmx:
        context = opportunity_page_context(request, opportunity)
        context.update(forms)
        return HttpResponse(render_to_string(template, context, request=request))
    errors = " ".join(error_text(ValidationError(form.errors)) for form in forms.values())
    messages.error(request, errors)
    return redirect(_detail_url(opportunity))


@require_POST
@login_required
def qualification_update(request, pk: int):
    opportunity = get_opportunity_for_user(request, pk)
    template = "opportunities/partials/_qualification.html"
    form = QualificationForm(
        request.POST, instance=qualification_of(opportunity) or Qualification()
    )
    if not form.is_valid():
        return _invalid_section(request, opportunity, template, qualification_form=form)
    try:
        qualification = services.qualification_update(
            opportunity=opportunity, actor=request.user, **form.cleaned_data
        )
    except (DomainError, ValidationError) as exc:
        return refuse(request, exc, url=_detail_url(opportunity))
    opportunity = selectors.opportunity_detail(user=request.user, pk=pk)
    return _section(
        request,
        opportunity,
        template,
        f"Qualification saved: {qualification.score}/100, {qualification.get_verdict_display()}.",
    )


@require_POST
@login_required
def activity_create(request, pk: int):
    opportunity = get_opportunity_for_user(request, pk)
    template = "opportunities/partials/_activities.html"
    form = ActivityForm(request.POST)
    if not form.is_valid():
        return _invalid_section(request, opportunity, template, activity_form=form)
    try:
        activity = services.activity_record(
            opportunity=opportunity, actor=request.user, source="manual", **form.cleaned_data
        )
    except (DomainError, ValidationError) as exc:
        return refuse(request, exc, url=_detail_url(opportunity))
    return _section(request, opportunity, template, f"{activity.get_kind_display()} recorded.")


@require_POST
@login_required
def product_gap_create(request, pk: int):
    opportunity = get_opportunity_for_user(request, pk)
    template = "opportunities/partials/_gaps.html"
    form = ProductGapForm(request.POST)
    if not form.is_valid():
        return _invalid_section(request, opportunity, template, gap_form=form)
    try:
        gap = services.product_gap_create(
            opportunity=opportunity, actor=request.user, **form.cleaned_data
        )
    except (DomainError, ValidationError) as exc:
        return refuse(request, exc, url=_detail_url(opportunity))
    return _section(request, opportunity, template, f"Product gap “{gap.title}” recorded.")


@require_POST
@login_required
def esat_invite(request, pk: int):
    """Create a one-time survey link for a contact, email it, and show it to the SA."""
    opportunity = get_opportunity_for_user(request, pk)
    template = "opportunities/partials/_esat.html"
    contacts = selectors.account_contacts(account=opportunity.account)
    form = EsatInviteForm(request.POST, contacts=contacts)
    if not form.is_valid():
        return _invalid_section(request, opportunity, template, esat_form=form)
    contact = form.cleaned_data["contact"]
    try:
        invitation = services.esat_invitation_create(
            opportunity=opportunity,
            actor=request.user,
            email=form.cleaned_data["email"] or (contact.email if contact else ""),
            contact=contact,
            survey_url=lambda token: request.build_absolute_uri(
                reverse("opportunities:esat-survey", args=[token])
            ),
        )
    except (DomainError, ValidationError) as exc:
        return refuse(request, exc, url=_detail_url(opportunity))
    message = f"Survey sent to {invitation.email}."
    if not request.htmx:
        messages.success(request, message)
        messages.info(request, f"Survey link (works once, 14 days): {invitation.survey_link}")
        return redirect(_detail_url(opportunity))
    return _section(request, opportunity, template, message, new_invitation=invitation)
