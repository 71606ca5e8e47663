"""HTML pages of the library, the curator workflow, the catalog, training, and the
opportunity-page panel (served here too, so it can be refreshed on its own by htmx)."""

from __future__ import annotations

import difflib
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from building_blocks import permissions, selectors, services
from building_blocks.filters import FACETS
from building_blocks.forms import BlockForm, CommentForm, SendBackForm
from building_blocks.models import BlockVersion, BuildingBlock, DiscoveryLink, TrainingStep
from building_blocks.uploads import CONTENT_TYPES, INLINE_TYPES
from epos.lib.errors import DomainError
from epos.lib.htmx import deal_changed, with_message
from epos.lib.ids import parse_id
from epos.lib.markdown import render_markdown
from epos.lib.roles import user_roles
from opportunities import selectors as opportunity_selectors
from opportunities.models import Opportunity

FACET_LABELS = {
    "kind": "Kind",
    "stage": "Stage",
    "use_case": "Use case",
    "industry": "Industry",
    "product": "Product",
}


# --- helpers ------------------------------------------------------------------------------------


def role_required(view):
    """Logged in and holding an EPOS role; anyone else gets a 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_roles(request.user):
            raise PermissionDenied("Your account has no EPOS role; ask an admin to assign one.")
        return view(request, *args, **kwargs)

    return wrapper


def curator_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not permissions.can_curate(request.user):
            raise PermissionDenied("Only curators may do this.")
        return view(request, *args, **kwargs)

    return wrapper


def get_block_for_user(request, pk) -> BuildingBlock:
    """The block, or a 404 when it does not exist *or the user may not see it* (drafts)."""
    block = selectors.block_get(user=request.user, pk=pk)
    if block is None:
        raise Http404("No such building block.")
    return block


def get_opportunity_for_user(request, pk) -> Opportunity:
    opportunity = opportunity_selectors.opportunity_get(user=request.user, pk=pk)
    if opportunity is None:
        raise Http404("No such opportunity.")
    return opportunity


def _next_url(request, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _report(request, error: Exception) -> None:
    if isinstance(error, DomainError):
        messages.error(request, error.message)
    elif isinstance(error, ValidationError):
        messages.error(request, " ".join(error.messages))
    else:  # pragma: no cover - only the two above are passed in
        raise error


# --- library ------------------------------------------------------------------------------------


def _toggled(params, name: str, value: str | None) -> str:
    """The query string with `name` set to `value` (or removed when None), back on page 1."""
    changed = {key: item for key, item in params.items() if key not in ("page", name)}
    if value is not None:
        changed[name] = value
    return "?" + urlencode(changed)


@require_safe
@role_required
@vary_on_headers("HX-Request")
def block_list(request):
    result = selectors.block_search(
        user=request.user, data=request.GET, page_number=request.GET.get("page") or 1
    )
    params = request.GET.copy()
    params.pop("page", None)
    active_filters = []
    for name in FACETS:
        for facet in result.facets[name]:
            facet.url = _toggled(request.GET, name, None if facet.selected else facet.value)
            if facet.selected:
                active_filters.append((FACET_LABELS[name], facet.label, facet.url))
        if request.GET.get(name) and not any(f.selected for f in result.facets[name]):
            # A filter with no matching block still shows, so it can be removed.
            active_filters.append(
                (FACET_LABELS[name], request.GET[name], _toggled(request.GET, name, None))
            )
    for name, label in (("status", "Status"), ("review_overdue", "Review")):
        if request.GET.get(name):
            value = dict(BuildingBlock.Status.choices).get(request.GET[name], "overdue")
            active_filters.append((label, value, _toggled(request.GET, name, None)))
    if request.GET.get("q"):
        active_filters.append(("Search", request.GET["q"], _toggled(request.GET, "q", None)))
    context = {
        "active_filters": active_filters,
        "result": result,
        "facet_groups": [
            (name, FACET_LABELS[name], result.facets[name])
            for name in FACETS
            if result.facets[name]
        ],
        # "Best match": relevance while searching, title otherwise; picking a sort sticks.
        "sorts": {
            "": "Best match",
            **{k: v for k, v in selectors.SORTS.items() if k != "relevance"},
        },
        "querystring": params.urlencode(),
        "can_curate": permissions.can_curate(request.user),
        "statuses": BuildingBlock.Status.choices,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "building_blocks/partials/_results.html", context)
    return render(request, "building_blocks/library.html", context)


@require_safe
@role_required
def block_detail(request, pk):
    block = get_block_for_user(request, pk)
    usages, hidden_usages = selectors.block_usages_for(block=block, user=request.user)
    can_curate = permissions.can_curate(request.user)
    my_deals = (
        opportunity_selectors.opportunity_list(user=request.user)
        .filter(outcome=Opportunity.Outcome.OPEN, owner=request.user)
        .order_by("name")[:50]
        if block.status == BuildingBlock.Status.PUBLISHED
        else []
    )
    tags = list(block.tags.all())
    return render(
        request,
        "building_blocks/block_detail.html",
        {
            "building_block": block,
            "tag_groups": [
                (label, [tag for tag in tags if tag.kind == kind])
                for kind, label in (
                    ("stage", "Stages"),
                    ("use_case", "Use cases"),
                    ("industry", "Industries"),
                    ("product", "Products"),
                )
            ],
            "effectiveness": selectors.block_effectiveness(block=block, user=request.user),
            "small_sample": selectors.SMALL_SAMPLE,
            "usages": usages,
            "hidden_usages": hidden_usages,
            "events": selectors.block_events(block=block) if can_curate else [],
            "can_curate": can_curate,
            "can_review": permissions.can_review_block(request.user, block),
            "my_deals": my_deals,
            "send_back_form": SendBackForm(),
        },
    )


@require_safe
@role_required
def block_file(request, pk):
    block = get_block_for_user(request, pk)
    if not block.file:
        raise Http404("This block has no file.")
    return _file_response(block.file.storage, block.file.name, block.file_type, block.file_name)


@require_safe
@curator_required
def block_version_file(request, pk, number):
    version = get_object_or_404(BlockVersion, block_id=pk, number=number)
    if not version.file:
        raise Http404("This version has no file.")
    from django.core.files.storage import default_storage

    return _file_response(default_storage, version.file, version.file_type, version.file_name)


def _file_response(storage, name, file_type, file_name):
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError as error:
        raise Http404("The file is missing from storage.") from error
    response = FileResponse(
        handle,
        content_type=CONTENT_TYPES.get(file_type, "application/octet-stream"),
        as_attachment=file_type not in INLINE_TYPES,
        filename=file_name or name.rsplit("/", 1)[-1],
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- curator workflow ---------------------------------------------------------------------------


def _render_form(request, form, block=None, preview=None, status=200):
    if preview is None:
        # Whatever the body holds now (a re-shown form, an edit) is previewed at once.
        body = form.data.get("body") if form.is_bound else form.initial.get("body")
        preview = render_markdown(body or "")
    return render(
        request,
        "building_blocks/block_form.html",
        {"form": form, "building_block": block, "preview": preview},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@curator_required
def block_create(request):
    if request.method == "POST":
        form = BlockForm(request.POST, request.FILES)
        if "preview" in request.POST:
            form.is_valid()
            return _render_form(request, form, preview=render_markdown(request.POST.get("body")))
        if form.is_valid():
            try:
                block = services.block_create(actor=request.user, **form.service_arguments())
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))  # shown above the form
            else:
                messages.success(request, f"Draft “{block.title}” saved as version 1.")
                return redirect("building_blocks:block-detail", pk=block.pk)
        return _render_form(request, form, status=400)
    return _render_form(request, BlockForm())


@require_http_methods(["GET", "POST"])
@curator_required
def block_edit(request, pk):
    block = get_block_for_user(request, pk)
    if request.method == "POST":
        form = BlockForm(request.POST, request.FILES, block=block)
        if "preview" in request.POST:
            form.is_valid()
            preview = render_markdown(request.POST.get("body"))
            return _render_form(request, form, block, preview=preview)
        if form.is_valid():
            try:
                updated = services.block_update(
                    block=block,
                    actor=request.user,
                    expected_version=form.cleaned_data.get("expected_version"),
                    note=form.cleaned_data.get("note", ""),
                    remove_file=form.cleaned_data.get("remove_file", False),
                    **form.service_arguments(),
                )
            except ValidationError as error:
                form.add_error(None, " ".join(error.messages))  # shown above the form
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                if updated.version == block.version:
                    messages.info(request, "Nothing changed; no new version was saved.")
                else:
                    messages.success(request, f"Saved as version {updated.version}.")
                return redirect("building_blocks:block-detail", pk=block.pk)
        return _render_form(request, form, block, status=400)
    form = BlockForm(initial=BlockForm.initial_for(block), block=block)
    return _render_form(request, form, block)


@require_POST
@curator_required
def markdown_preview(request):
    """htmx: the rendered markdown of the body being typed."""
    return HttpResponse(render_markdown(request.POST.get("body", "")) or "<p>Nothing yet.</p>")


def _lifecycle(service, success: str, needs_comment=False):
    @require_POST
    @curator_required
    def view(request, pk):
        block = get_block_for_user(request, pk)
        arguments = {}
        if needs_comment is not None:
            form = (SendBackForm if needs_comment else CommentForm)(request.POST)
            form.is_valid()
            arguments["comment"] = form.cleaned_data.get("comment", "")
        try:
            block = service(block=block, actor=request.user, **arguments)
        except DomainError as error:
            _report(request, error)
        else:
            messages.success(request, success.format(title=block.title))
        return redirect(_next_url(request, reverse("building_blocks:block-detail", args=[pk])))

    return view


block_submit = _lifecycle(
    services.block_submit, "“{title}” is waiting for review.", needs_comment=None
)
block_approve = _lifecycle(services.block_approve, "“{title}” is published.")
block_send_back = _lifecycle(
    services.block_send_back, "“{title}” went back to its author as a draft.", needs_comment=True
)
block_archive = _lifecycle(services.block_archive, "“{title}” is archived.")
block_unarchive = _lifecycle(
    services.block_unarchive, "“{title}” is a draft again.", needs_comment=None
)
block_mark_reviewed = _lifecycle(
    services.block_mark_reviewed, "“{title}” is confirmed; next review in six months."
)


@require_safe
@curator_required
def review_queue(request):
    return render(
        request,
        "building_blocks/review_queue.html",
        {"blocks": selectors.review_queue(user=request.user), "send_back_form": SendBackForm()},
    )


# --- history ------------------------------------------------------------------------------------


def _version_text(version: BlockVersion) -> list[str]:
    tags = ", ".join(f"{tag['kind']}:{tag['name']}" for tag in version.tags) or "none"
    header = [
        f"Title: {version.title}",
        f"Kind: {version.get_kind_display()}",
        f"Summary: {version.summary}",
        f"Link: {version.external_url or '—'}",
        f"File: {version.file_name or '—'}",
        f"Tags: {tags}",
        f"Needs: {', '.join(version.needs) or 'none'}",
        "",
    ]
    return header + version.body.splitlines()


def _diff(old: BlockVersion, new: BlockVersion) -> list[tuple[str, str]]:
    lines = difflib.unified_diff(
        _version_text(old),
        _version_text(new),
        fromfile=f"version {old.number}",
        tofile=f"version {new.number}",
        lineterm="",
        n=3,
    )
    styled = []
    for line in lines:
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        styled.append((kind, line))
    return styled


@require_safe
@curator_required
def block_history(request, pk):
    block = get_block_for_user(request, pk)
    versions = list(selectors.block_versions(block=block))
    by_number = {version.number: version for version in versions}

    def pick(name, default):
        return by_number.get(parse_id(request.GET.get(name)), by_number.get(default))

    newest = versions[0].number if versions else None
    older = versions[1].number if len(versions) > 1 else newest
    old, new = pick("a", older), pick("b", newest)
    return render(
        request,
        "building_blocks/history.html",
        {
            "building_block": block,
            "versions": versions,
            "old": old,
            "new": new,
            "diff": _diff(old, new) if old and new and old.number != new.number else [],
        },
    )


@require_POST
@curator_required
def block_restore(request, pk, number):
    block = get_block_for_user(request, pk)
    try:
        block = services.block_restore_version(block=block, number=number, actor=request.user)
    except DomainError as error:
        _report(request, error)
        return redirect("building_blocks:block-history", pk=pk)
    messages.success(request, f"Version {number} restored as version {block.version}.")
    return redirect("building_blocks:block-detail", pk=pk)


# --- use on deals and the opportunity panel -----------------------------------------------------


def _panel_response(request, opportunity):
    """The refreshed panel; what happened is said once, as a toast, wherever the user scrolled,
    and the deal's timeline is told to refresh itself."""
    said = " ".join(str(message) for message in messages.get_messages(request))
    response = render(
        request, "building_blocks/partials/_opportunity_panel.html", {"opportunity": opportunity}
    )
    return deal_changed(with_message(response, said))


@require_POST
@role_required
def block_use(request, pk):
    block = get_block_for_user(request, pk)
    opportunity = get_opportunity_for_user(request, request.POST.get("opportunity"))
    try:
        usage = services.block_usage_record(
            block=block, opportunity=opportunity, actor=request.user
        )
    except DomainError as error:
        _report(request, error)
    else:
        messages.success(
            request, f"Recorded: “{block.title}” used in {opportunity.name} ({usage.stage.name})."
        )
    if request.htmx:
        return _panel_response(request, opportunity)
    return redirect(_next_url(request, reverse("building_blocks:block-detail", args=[pk])))


@require_safe
@role_required
@vary_on_headers("HX-Request")
def opportunity_panel(request, opportunity_id):
    """The panel on a page of its own (and its htmx fragment)."""
    opportunity = get_opportunity_for_user(request, opportunity_id)
    if request.htmx:
        return _panel_response(request, opportunity)
    return render(
        request, "building_blocks/opportunity_panel_page.html", {"opportunity": opportunity}
    )


def _after_panel_change(request, opportunity):
    if request.htmx:
        return _panel_response(request, opportunity)
    default = reverse("building_blocks:opportunity-panel", args=[opportunity.pk])
    return redirect(_next_url(request, default) + "#blocks-discovery")


@require_POST
@role_required
def discovery_add(request, opportunity_id):
    opportunity = get_opportunity_for_user(request, opportunity_id)
    pairs = []
    for value in request.POST.getlist("pair"):
        challenge_id, _, need_id = value.partition(":")
        challenge, need = parse_id(challenge_id), parse_id(need_id)
        if challenge is not None and need is not None:
            pairs.append((challenge, need))
    try:
        links = services.discovery_links_add(
            opportunity=opportunity,
            actor=request.user,
            pairs=pairs,
            direction=request.POST.get("direction", ""),
        )
    except DomainError as error:
        _report(request, error)
    else:
        count = len(links)
        messages.success(
            request,
            f"Discovery saved: {count} new link{'s' if count != 1 else ''}."
            if count
            else "Nothing new to save: those links were already recorded.",
        )
    return _after_panel_change(request, opportunity)


def _discovery_link(request, opportunity_id, link_id):
    opportunity = get_opportunity_for_user(request, opportunity_id)
    link = get_object_or_404(
        DiscoveryLink.objects.select_related("opportunity"), pk=link_id, opportunity=opportunity
    )
    return opportunity, link


@require_POST
@role_required
def discovery_update(request, opportunity_id, link_id):
    opportunity, link = _discovery_link(request, opportunity_id, link_id)
    try:
        services.discovery_link_update(
            link=link,
            actor=request.user,
            priority=request.POST.get("priority") or None,
            impact_note=request.POST.get("impact_note"),
        )
    except (DomainError, ValidationError, ValueError) as error:
        messages.error(request, getattr(error, "message", None) or "Invalid priority.")
    return _after_panel_change(request, opportunity)


@require_POST
@role_required
def discovery_remove(request, opportunity_id, link_id):
    opportunity, link = _discovery_link(request, opportunity_id, link_id)
    try:
        services.discovery_link_remove(link=link, actor=request.user)
    except DomainError as error:
        _report(request, error)
    return _after_panel_change(request, opportunity)


# --- catalog ------------------------------------------------------------------------------------


@require_safe
@role_required
def catalog(request):
    use_cases = Opportunity.UseCase.choices
    use_case = request.GET.get("use_case") or "observability"
    if use_case not in dict(use_cases):
        use_case = "observability"
    links = list(selectors.catalog_links(use_case=use_case))
    blocks = selectors.catalog_suggested_blocks(need_ids={link.need_id for link in links})
    challenges = {}
    for link in links:
        challenges.setdefault(link.challenge, []).append(link)
        link.suggested_blocks = blocks.get(link.need_id, [])
    return render(
        request,
        "building_blocks/catalog.html",
        {
            "use_cases": [(value, label) for value, label in use_cases if value != "other"],
            "use_case": use_case,
            "challenges": challenges.items(),
            "link_count": len(links),
            "can_curate": permissions.can_curate(request.user),
        },
    )


# --- training -----------------------------------------------------------------------------------


@require_safe
@role_required
def training_list(request):
    return render(
        request,
        "building_blocks/training_list.html",
        {
            "paths": selectors.training_paths_for(user=request.user),
            "can_see_team": permissions.can_see_team_training(request.user),
            "can_curate": permissions.can_curate(request.user),
        },
    )


@require_POST
@role_required
def training_step_done(request, step_id):
    step = get_object_or_404(TrainingStep.objects.select_related("path"), pk=step_id)
    if not any(p.path.pk == step.path_id for p in selectors.training_paths_for(user=request.user)):
        raise Http404("No such training step for you.")
    done = request.POST.get("done", "1") == "1"
    services.training_step_set_done(step=step, actor=request.user, done=done)
    return redirect(_next_url(request, reverse("building_blocks:training")) + f"#step-{step.pk}")


@require_safe
@login_required
def training_team(request):
    if not permissions.can_see_team_training(request.user):
        raise PermissionDenied("Managers see their teams' training.")
    paths, members = selectors.team_training(user=request.user)
    rows = [(member, [member.per_path[path.pk] for path in paths]) for member in members]
    return render(
        request,
        "building_blocks/training_team.html",
        {"paths": paths, "rows": rows},
    )
