"""The curators' editors of the discovery catalog and of the training paths.

Every view here is for curators and admins (others get a 403, anonymous users the login page);
every write goes through `curation.services`, which checks the role again.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from building_blocks import selectors, services
from building_blocks.curation import services as curation_services
from building_blocks.forms import (
    CatalogLinkForm,
    ChallengeForm,
    NeedForm,
    TrainingPathForm,
    TrainingStepAddForm,
    TrainingStepNoteForm,
)
from building_blocks.models import TrainingPath, TrainingStep
from building_blocks.views import curator_required
from epos.lib.errors import DomainError
from opportunities.models import Opportunity

USE_CASES = [(value, label) for value, label in Opportunity.UseCase.choices if value != "other"]
DEFAULT_USE_CASE = "observability"


# --- helpers ------------------------------------------------------------------------------------


def _add_errors(form, error: Exception) -> None:
    """A service's refusal shown on the form: next to its field when the form has that field."""
    if isinstance(error, DomainError):
        form.add_error(None, error.message)
        return
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _use_case(value: str | None) -> str:
    return value if value in dict(Opportunity.UseCase.choices) else DEFAULT_USE_CASE


def _manage_url(use_case: str, anchor: str = "") -> str:
    url = f"{reverse('building_blocks:catalog-manage')}?use_case={use_case}"
    return f"{url}#{anchor}" if anchor else url


def _bound(request):
    return request.POST if request.method == "POST" else None


def _form_page(request, form, *, status=None, **context):
    """The page of one catalog or training form (heading, fields, what saving does)."""
    if status is None:
        status = 400 if form.is_bound else 200
    return render(
        request, "building_blocks/curation_form.html", {"form": form, **context}, status=status
    )


def _confirm_page(request, *, status=200, **context):
    return render(request, "building_blocks/curation_confirm.html", context, status=status)


# --- the catalog editor -------------------------------------------------------------------------


@require_safe
@curator_required
def catalog_manage(request):
    use_case = _use_case(request.GET.get("use_case"))
    return render(
        request,
        "building_blocks/catalog_manage.html",
        {
            "use_cases": Opportunity.UseCase.choices,
            "use_case": use_case,
            "challenges": selectors.catalog_challenges_for_editing(use_case=use_case),
            "needs": selectors.catalog_needs_for_editing(use_case=use_case),
            "builtin_updates": services.catalog_builtin_updates(),
        },
    )


@require_POST
@curator_required
def catalog_builtin_apply(request):
    """Take the newer shipped version of one catalog entry (replacing the curators' text)."""
    try:
        services.catalog_builtin_apply(
            actor=request.user,
            source=request.POST.get("source", ""),
            key=request.POST.get("key", ""),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The built-in version was applied.")
    return redirect(reverse("building_blocks:catalog-manage"))


def _catalog_item_form(request, *, form_class, save, instance, noun, anchor_prefix):
    """Create (instance None) or edit a challenge or a need; `save` calls the service."""
    if instance is None:
        initial = {"use_case": _use_case(request.GET.get("use_case"))}
    else:
        initial = form_class.initial_for(instance)
    form = form_class(_bound(request), initial=initial)
    if form.is_bound and form.is_valid():
        try:
            saved = save(actor=request.user, **form.service_arguments())
        except (ValidationError, DomainError) as error:
            _add_errors(form, error)
        else:
            verb = "added to the catalog" if instance is None else "saved"
            messages.success(request, f"{noun.capitalize()} “{saved.title}” {verb}.")
            return redirect(_manage_url(saved.use_case, f"{anchor_prefix}-{saved.pk}"))
    use_case = instance.use_case if instance is not None else initial["use_case"]
    return _form_page(
        request,
        form,
        noun=noun,
        heading=f"Edit “{instance.title}”" if instance else f"New {noun}",
        instance=instance,
        cancel_url=_manage_url(use_case, f"{anchor_prefix}-{instance.pk}" if instance else ""),
        delete_url=(
            reverse(f"building_blocks:{anchor_prefix}-delete", args=[instance.pk])
            if instance
            else ""
        ),
        submit_label="Save" if instance else f"Add the {noun}",
        active="catalog-manage",
    )


def _get_challenge(pk):
    challenge = selectors.catalog_challenge_get(pk=pk)
    if challenge is None:
        raise Http404("No such business challenge.")
    return challenge


def _get_need(pk):
    need = selectors.catalog_need_get(pk=pk)
    if need is None:
        raise Http404("No such technical need.")
    return need


def _get_link(pk):
    link = selectors.catalog_link_get(pk=pk)
    if link is None:
        raise Http404("No such catalog link.")
    return link


@require_http_methods(["GET", "POST"])
@curator_required
def challenge_create(request):
    return _catalog_item_form(
        request,
        form_class=ChallengeForm,
        save=curation_services.challenge_create,
        instance=None,
        noun="business challenge",
        anchor_prefix="challenge",
    )


@require_http_methods(["GET", "POST"])
@curator_required
def challenge_edit(request, pk):
    challenge = _get_challenge(pk)
    return _catalog_item_form(
        request,
        form_class=ChallengeForm,
        save=lambda **arguments: curation_services.challenge_update(
            challenge=challenge, **arguments
        ),
        instance=challenge,
        noun="business challenge",
        anchor_prefix="challenge",
    )


@require_http_methods(["GET", "POST"])
@curator_required
def need_create(request):
    return _catalog_item_form(
        request,
        form_class=NeedForm,
        save=curation_services.need_create,
        instance=None,
        noun="technical need",
        anchor_prefix="need",
    )


@require_http_methods(["GET", "POST"])
@curator_required
def need_edit(request, pk):
    need = _get_need(pk)
    return _catalog_item_form(
        request,
        form_class=NeedForm,
        save=lambda **arguments: curation_services.need_update(need=need, **arguments),
        instance=need,
        noun="technical need",
        anchor_prefix="need",
    )


def _delete_page(request, *, instance, noun, refusal, consequences, delete, back_url, done_url):
    """GET: what deleting would do (or why it is refused); POST: delete through the service."""
    if request.method == "POST":
        try:
            delete()
        except DomainError as error:
            refusal = error.message
        else:
            messages.success(request, f"{noun.capitalize()} “{instance}” deleted.")
            return redirect(done_url)
        status = 409
    else:
        status = 200
    return _confirm_page(
        request,
        status=status,
        heading=f"Delete the {noun} “{instance}”?",
        refusal=refusal,
        consequences=consequences,
        confirm_label=f"Delete the {noun}",
        back_url=back_url,
        active="catalog-manage",
    )


def _deals_refusal(count: int, noun: str) -> str:
    if not count:
        return ""
    deals = "1 deal" if count == 1 else f"{count} deals"
    return (
        f"{deals} recorded this {noun} in discovery. It stays in the catalog so their discovery "
        "is kept; edit it instead."
    )


@require_http_methods(["GET", "POST"])
@curator_required
def challenge_delete(request, pk):
    challenge = _get_challenge(pk)
    links = challenge.link_count
    return _delete_page(
        request,
        instance=challenge,
        noun="business challenge",
        refusal=_deals_refusal(challenge.deal_count, "challenge"),
        consequences=[
            f"Its {links} link{'s' if links != 1 else ''} to technical needs go with it."
            if links
            else "It has no links to technical needs."
        ],
        delete=lambda: curation_services.challenge_delete(challenge=challenge, actor=request.user),
        back_url=reverse("building_blocks:challenge-edit", args=[pk]),
        done_url=_manage_url(challenge.use_case),
    )


@require_http_methods(["GET", "POST"])
@curator_required
def need_delete(request, pk):
    need = _get_need(pk)
    refusal = _deals_refusal(need.deal_count, "need")
    if not refusal and need.block_count:
        titles = ", ".join(f"“{block.title}”" for block in selectors.blocks_filed_under(need=need))
        more = " …" if need.block_count > 10 else ""
        refusal = (
            f"Building blocks are filed under this need: {titles}{more}. Untick it on those "
            "blocks first (their edits are versioned)."
        )
    links = need.link_count
    return _delete_page(
        request,
        instance=need,
        noun="technical need",
        refusal=refusal,
        consequences=[
            f"Its {links} link{'s' if links != 1 else ''} from business challenges go with it."
            if links
            else "No business challenge links to it."
        ],
        delete=lambda: curation_services.need_delete(need=need, actor=request.user),
        back_url=reverse("building_blocks:need-edit", args=[pk]),
        done_url=_manage_url(need.use_case),
    )


# --- challenge → need links ---------------------------------------------------------------------


def _link_page(request, form, link=None):
    return _form_page(
        request,
        form,
        noun="link",
        heading="Edit the link" if link else "Link a challenge to a need",
        instance=link,
        cancel_url=_manage_url(
            link.challenge.use_case if link else _use_case(request.GET.get("use_case")),
            f"challenge-{link.challenge_id}" if link else "",
        ),
        delete_url=reverse("building_blocks:link-delete", args=[link.pk]) if link else "",
        submit_label="Save" if link else "Add the link",
        active="catalog-manage",
    )


def _after_link_saved(request, link, verb):
    messages.success(request, f"Link “{link.challenge.title} → {link.need.title}” {verb}.")
    return redirect(_manage_url(link.challenge.use_case, f"challenge-{link.challenge_id}"))


@require_http_methods(["GET", "POST"])
@curator_required
def link_create(request):
    initial = {key: request.GET[key] for key in ("challenge", "need") if request.GET.get(key)}
    form = CatalogLinkForm(_bound(request), initial=initial)
    if form.is_bound and form.is_valid():
        try:
            link = curation_services.catalog_link_create(
                actor=request.user, **form.service_arguments()
            )
        except (ValidationError, DomainError) as error:
            _add_errors(form, error)
        else:
            return _after_link_saved(request, link, "added")
    return _link_page(request, form)


@require_http_methods(["GET", "POST"])
@curator_required
def link_edit(request, pk):
    link = _get_link(pk)
    form = CatalogLinkForm(_bound(request), initial=CatalogLinkForm.initial_for(link))
    if link.deal_count:
        # The pair cannot change (the service refuses it too): say so before the curator tries.
        form.fields["challenge"].disabled = form.fields["need"].disabled = True
        form.fields["need"].help_text = (
            f"Recorded in discovery by {link.deal_count} deal{'s' if link.deal_count != 1 else ''}"
            ": the challenge and the need stay."
        )
    if form.is_bound and form.is_valid():
        try:
            link = curation_services.catalog_link_update(
                link=link, actor=request.user, **form.service_arguments()
            )
        except (ValidationError, DomainError) as error:
            _add_errors(form, error)
        else:
            return _after_link_saved(request, link, "saved")
    return _link_page(request, form, link)


@require_http_methods(["GET", "POST"])
@curator_required
def link_delete(request, pk):
    link = _get_link(pk)
    return _delete_page(
        request,
        instance=link,
        noun="link",
        refusal=_deals_refusal(link.deal_count, "pair"),
        consequences=[
            "The challenge and the need stay; only this link, its narrative and its KPIs go."
        ],
        delete=lambda: curation_services.catalog_link_delete(link=link, actor=request.user),
        back_url=reverse("building_blocks:link-edit", args=[pk]),
        done_url=_manage_url(link.challenge.use_case, f"challenge-{link.challenge_id}"),
    )


# --- training paths -----------------------------------------------------------------------------


def _get_path(pk) -> TrainingPath:
    path = selectors.training_path_for_editing(pk=pk)
    if path is None:
        raise Http404("No such training path.")
    return path


def _get_step(path_pk, step_pk) -> TrainingStep:
    return get_object_or_404(
        TrainingStep.objects.select_related("block"), pk=step_pk, path_id=path_pk
    )


def _editor_url(path_pk, anchor="steps") -> str:
    return reverse("building_blocks:path-edit", args=[path_pk]) + f"#{anchor}"


def _path_editor(request, path, *, path_form=None, add_form=None, step_error=None, status=200):
    if path_form is None:
        path_form = TrainingPathForm(initial=TrainingPathForm.initial_for(path))
    if add_form is None:
        add_form = TrainingStepAddForm(
            blocks=selectors.training_step_block_choices(path=path), auto_id="id_add_%s"
        )
    return render(
        request,
        "building_blocks/training_path_edit.html",
        {
            "path": path,
            "steps": list(path.steps.all()),
            "path_form": path_form,
            "add_form": add_form,
            "step_error": step_error,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@curator_required
def path_create(request):
    form = TrainingPathForm(_bound(request), initial={"role": "sa"})
    if form.is_bound and form.is_valid():
        try:
            path = curation_services.training_path_create(
                actor=request.user, **form.service_arguments()
            )
        except (ValidationError, DomainError) as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Training path “{path.name}” created: add its steps.")
            return redirect(_editor_url(path.pk))
    return _form_page(
        request,
        form,
        noun="training path",
        heading="New training path",
        instance=None,
        cancel_url=reverse("building_blocks:training"),
        delete_url="",
        submit_label="Create the path",
        intro="Create the path, then add its steps: published building blocks, in order.",
        active="training",
    )


@require_http_methods(["GET", "POST"])
@curator_required
def path_edit(request, pk):
    path = _get_path(pk)
    if request.method == "POST":
        form = TrainingPathForm(request.POST)
        if form.is_valid():
            try:
                path = curation_services.training_path_update(
                    path=path, actor=request.user, **form.service_arguments()
                )
            except (ValidationError, DomainError) as error:
                _add_errors(form, error)
            else:
                messages.success(request, f"Training path “{path.name}” saved.")
                return redirect(_editor_url(path.pk, "path"))
        return _path_editor(request, path, path_form=form, status=400)
    return _path_editor(request, path)


@require_POST
@curator_required
def step_add(request, pk):
    path = _get_path(pk)
    form = TrainingStepAddForm(
        request.POST,
        blocks=selectors.training_step_block_choices(path=path),
        auto_id="id_add_%s",
    )
    if form.is_valid():
        try:
            step = curation_services.training_step_add(
                path=path, actor=request.user, **form.service_arguments()
            )
        except (ValidationError, DomainError) as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"“{step.block.title}” added as step {step.position}.")
            return redirect(_editor_url(pk, f"step-{step.pk}"))
    return _path_editor(request, path, add_form=form, status=400)


@require_POST
@curator_required
def step_edit(request, pk, step_id):
    step = _get_step(pk, step_id)
    form = TrainingStepNoteForm(request.POST)
    if form.is_valid():
        curation_services.training_step_update(
            step=step, actor=request.user, note=form.cleaned_data["note"]
        )
        messages.success(request, f"Note of step {step.position} saved.")
        return redirect(_editor_url(pk, f"step-{step.pk}"))
    error = " ".join(form.errors.get("note", []))
    return _path_editor(request, _get_path(pk), step_error=(step.pk, error), status=400)


@require_POST
@curator_required
def step_move(request, pk, step_id):
    step = _get_step(pk, step_id)
    try:
        curation_services.training_step_move(
            step=step, actor=request.user, direction=request.POST.get("direction", "")
        )
    except ValidationError as error:
        message = " ".join(error.messages)
        return _path_editor(request, _get_path(pk), step_error=(step.pk, message), status=400)
    return redirect(_editor_url(pk, f"step-{step.pk}"))


@require_http_methods(["GET", "POST"])
@curator_required
def step_remove(request, pk, step_id):
    """GET: what removing the step deletes; POST: remove it (completions only when confirmed)."""
    step = _get_step(pk, step_id)
    completions = step.completions.count()
    status = 200
    refusal = ""
    if request.method == "POST":
        try:
            deleted = curation_services.training_step_remove(
                step=step,
                actor=request.user,
                delete_completions=request.POST.get("delete_completions") == "1",
            )
        except DomainError as error:
            refusal, status = error.message, 409
        else:
            done = f"; {deleted} completion{'s' if deleted != 1 else ''} deleted" if deleted else ""
            messages.success(request, f"“{step.block.title}” removed from the path{done}.")
            return redirect(_editor_url(pk))
    people = "1 person" if completions == 1 else f"{completions} people"
    return _confirm_page(
        request,
        status=status,
        heading=f"Remove step {step.position}, “{step.block.title}”?",
        refusal="",
        warning=refusal,
        consequences=[
            (
                f"{people} marked this step done. Removing it deletes their completions: their "
                "progress on this path goes down and it cannot be undone."
            )
            if completions
            else "Nobody has marked this step done yet.",
            "The building block itself stays in the library; the later steps move up.",
        ],
        confirm_field="delete_completions" if completions else "",
        confirm_label="Remove the step and its completions" if completions else "Remove the step",
        back_url=_editor_url(pk, f"step-{step.pk}"),
        active="training",
    )
