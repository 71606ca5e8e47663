"""The manager's upload page: choose a format, upload, read the dry-run preview, confirm.

The uploaded files wait in the default storage (a shared volume in production, so any web
instance can finish the import) under a random token that only the uploader's session knows;
confirming re-reads them and runs the real import, which checks everything again.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from opportunities.importers import presets
from opportunities.importers.base import ImportPlan
from opportunities.importers.forms import MAX_FILE_BYTES, MAX_FILES, ImportUploadForm
from opportunities.importers.services import (
    ImportResult,
    can_import,
    importable_team_ids,
    pipeline_import,
)
from opportunities.models import Team

PENDING_SESSION_KEY = "epos_pending_import"
PREVIEW_ROWS = 10


def _check_importer(user) -> None:
    if not can_import(user):
        raise PermissionDenied("Only managers and admins import pipelines.")


def _build_plan(preset: str, files: dict[str, bytes], mapping, as_of, team=None) -> ImportPlan:
    plan = presets.build_plan(preset=preset, files=files, mapping=mapping, as_of=as_of)
    if team is not None:
        plan.default_team(pk=team.pk, name=team.name)
    return plan


def _upload_form(request, *args) -> ImportUploadForm:
    allowed = importable_team_ids(request.user)
    teams = None if allowed is None else Team.objects.filter(pk__in=allowed)
    return ImportUploadForm(*args, teams=teams)


@require_http_methods(["GET", "POST"])
@login_required
def import_upload(request):
    _check_importer(request.user)
    if request.method == "GET":
        return _upload_page(request, _upload_form(request))
    # The whole body is refused before Django spools it when it cannot be within the limits.
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > (MAX_FILES + 1) * MAX_FILE_BYTES + 65536:
        return _upload_page(
            request, _upload_form(request), error="The upload is larger than allowed.", status=413
        )
    form = _upload_form(request, request.POST, request.FILES)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    preset = form.cleaned_data["preset"]
    files = {upload.name: upload.read() for upload in form.cleaned_data["files"]}
    mapping_upload = form.cleaned_data.get("mapping")
    mapping = (mapping_upload.name, mapping_upload.read()) if mapping_upload else None
    as_of = form.cleaned_data.get("as_of")
    as_of_time = _as_of_time(as_of)
    team = form.cleaned_data.get("team")
    plan = _build_plan(
        preset, files, mapping if preset == presets.GENERIC else None, as_of_time, team
    )
    result = pipeline_import(plan=plan, actor=request.user, dry_run=True)
    _discard_pending(request)
    token = None
    if result.ok:
        token = _stash(request, preset, files, mapping, as_of, team)
    return render(
        request,
        "imports/preview.html",
        _preview_context(result, preset=preset, token=token, file_names=sorted(files)),
    )


@require_POST
@login_required
def import_confirm(request):
    _check_importer(request.user)
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending or pending.get("token") != request.POST.get("token"):
        messages.error(request, "That upload is no longer waiting: upload the files again.")
        return redirect("imports:upload")
    files = {name: _read(path) for name, path in pending["files"]}
    mapping = None
    if pending.get("mapping"):
        name, path = pending["mapping"]
        mapping = (name, _read(path))
    team = Team.objects.filter(pk=pending.get("team")).first() if pending.get("team") else None
    plan = _build_plan(pending["preset"], files, mapping, _as_of_time(pending.get("as_of")), team)
    result = pipeline_import(plan=plan, actor=request.user)
    _discard_pending(request)
    if not result.ok:
        # Only possible when the database changed since the preview (a stage was deleted...).
        return render(
            request,
            "imports/preview.html",
            _preview_context(
                result, preset=pending["preset"], token=None, file_names=sorted(files)
            ),
            status=409,
        )
    outcomes = plan.count_by_outcome()
    messages.success(
        request,
        f"Imported {len(plan.opportunities):,} deals into {result.process}: {result.created:,} "
        f"new, {result.updated:,} updated, {result.unchanged:,} unchanged (won "
        f"{outcomes['won']:,}, lost {outcomes['lost']:,}, open {outcomes['open']:,}).",
    )
    return redirect("imports:upload")


@require_POST
@login_required
def import_cancel(request):
    _check_importer(request.user)
    _discard_pending(request)
    messages.info(request, "Import cancelled: nothing was written.")
    return redirect("imports:upload")


# --- helpers -------------------------------------------------------------------------------------


def _upload_page(request, form, *, error: str = "", status: int = 200):
    context = {
        "form": form,
        "error": error,
        "presets": presets.PRESETS.values(),
        "max_file_bytes": MAX_FILE_BYTES,
    }
    return render(request, "imports/upload.html", context, status=status)


def _as_of_time(value):
    if not value:
        return None
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return datetime.combine(day, time(), tzinfo=UTC)


def _stash(request, preset, files, mapping, as_of, team=None) -> str:
    token = secrets.token_urlsafe(24)
    folder = f"imports/{token}"

    def save(index: int, data: bytes) -> str:
        return default_storage.save(f"{folder}/{index}.csv", ContentFile(data))

    stored = [[name, save(index, data)] for index, (name, data) in enumerate(files.items())]
    request.session[PENDING_SESSION_KEY] = {
        "token": token,
        "preset": preset,
        "files": stored,
        "mapping": [mapping[0], save(len(stored), mapping[1])] if mapping else None,
        "as_of": as_of.isoformat() if as_of else None,
        "team": team.pk if team else None,
    }
    return token


def _read(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def _discard_pending(request) -> None:
    pending = request.session.pop(PENDING_SESSION_KEY, None)
    if not pending:
        return
    paths = [path for _, path in pending["files"]]
    if pending.get("mapping"):
        paths.append(pending["mapping"][1])
    for path in paths:
        default_storage.delete(path)


def _preview_context(result: ImportResult, *, preset, token, file_names) -> dict:
    plan = result.plan
    accounts = plan.accounts
    # Who each owner in the files is in EPOS (known once the dry run has looked them up).
    owners = {owner.external_id: owner for owner in result.owners}

    def person(key):
        if not key:
            return ""
        if key in owners:
            return owners[key].name
        return plan.users[key].full_name

    first_rows = [
        {
            "external_id": record.external_id,
            "name": record.name,
            "stage": record.state.stage,
            "outcome": record.state.outcome,
            "amount": record.amount,
            "currency": record.currency,
            "owner": person(record.owner),
            "account": accounts[record.account].name if record.account else "",
            "created_at": record.created_at,
            "closed_at": record.state.closed_at,
            "moves": len(record.transitions),
        }
        for record in plan.opportunities[:PREVIEW_ROWS]
    ]
    return {
        "result": result,
        "plan": plan,
        "preset": preset,
        "preset_label": dict(presets.CHOICES).get(preset, preset),
        "token": token,
        "file_names": file_names,
        "outcomes": plan.count_by_outcome(),
        "stages": plan.count_by_stage(),
        "first_rows": first_rows,
        "errors": plan.errors,
        "owners": result.owners,
        "new_owners": sum(not owner.existing for owner in result.owners),
        "unnamed_owners": sum(not owner.name_known for owner in result.owners),
    }
