"""The profile page every signed-in user has: name and email, password, personal API keys."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from epos import selectors, services
from epos.forms import ApiKeyForm, ProfileForm
from epos.lib.crypto import DecryptionError, decrypt, encrypt
from epos.lib.htmx import with_message
from epos.models import ApiKey

PAGE_TEMPLATE = "epos/profile.html"
KEYS_TEMPLATE = "epos/partials/_api_keys.html"
# A key created by a plain POST is shown on the page the redirect leads to, then forgotten. It
# waits in the session encrypted, so a session row never holds a usable key.
NEW_KEY_SESSION = "profile_new_api_key"


def get_api_key_for_user(request, pk) -> ApiKey:
    """One of the user's own keys; anyone else's is a 404, so its existence does not leak."""
    key = selectors.api_key_get(user=request.user, pk=pk)
    if key is None:
        raise Http404("No such API key.")
    return key


def _profile_form(user) -> ProfileForm:
    return ProfileForm(
        initial={"first_name": user.first_name, "last_name": user.last_name, "email": user.email}
    )


def _keys_context(request, *, key_form=None, new_key=None) -> dict:
    api_keys = list(selectors.api_keys_for_user(request.user))
    shown = None
    if new_key is not None:
        # Shown only while the key is still there and active (it may be revoked in another tab).
        key_id, raw = new_key
        key = next((key for key in api_keys if key.pk == key_id and key.revoked_at is None), None)
        shown = {"key": key, "raw": raw} if key else None
    return {
        "api_keys": api_keys,
        "active_count": sum(1 for key in api_keys if key.revoked_at is None),
        "key_form": key_form if key_form is not None else ApiKeyForm(auto_id="key_%s"),
        "new_key": shown,
    }


def _render_page(request, *, profile_form=None, key_form=None, new_key=None):
    context = _keys_context(request, key_form=key_form, new_key=new_key)
    context["profile_form"] = (
        profile_form if profile_form is not None else _profile_form(request.user)
    )
    return render(request, PAGE_TEMPLATE, context)


def _render_keys(request, *, key_form=None, new_key=None, message: str = ""):
    response = render(
        request, KEYS_TEMPLATE, _keys_context(request, key_form=key_form, new_key=new_key)
    )
    return with_message(response, message)


def _pop_new_key(request) -> tuple[int, str] | None:
    pending = request.session.pop(NEW_KEY_SESSION, None)
    if not pending:
        return None
    try:
        return pending["id"], decrypt(pending["raw"])
    except (DecryptionError, KeyError, TypeError):
        return None


def _keys_url() -> str:
    return reverse("profile:detail") + "#api-keys"


@require_safe
@login_required
@never_cache
@vary_on_headers("HX-Request")
def profile_detail(request):
    new_key = _pop_new_key(request)
    if request.htmx and not request.htmx.boosted:
        return _render_keys(request, new_key=new_key)
    return _render_page(request, new_key=new_key)


@require_POST
@login_required
def profile_update(request):
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.user_profile_update(user=request.user, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Your profile was saved.")
            return redirect("profile:detail")
    return _render_page(request, profile_form=form)


def _add_errors(form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, field_errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_errors)


@require_POST
@login_required
@never_cache
def api_key_create(request):
    form = ApiKeyForm(request.POST, auto_id="key_%s")
    if not form.is_valid():
        if request.htmx:
            return _render_keys(request, key_form=form)
        return _render_page(request, key_form=form)
    key, raw = services.api_key_create(user=request.user, name=form.cleaned_data["name"])
    if request.htmx:
        return _render_keys(request, new_key=(key.pk, raw))
    request.session[NEW_KEY_SESSION] = {"id": key.pk, "raw": encrypt(raw)}
    messages.success(request, f"API key “{key.name}” created.")
    return redirect(_keys_url())


@require_POST
@login_required
def api_key_revoke(request, pk):
    key = get_api_key_for_user(request, pk)
    if key.revoked_at is None:
        services.api_key_revoke(key=key)
    message = f"API key “{key.name or key.prefix}” revoked: it no longer signs anything in."
    if request.htmx:
        return _render_keys(request, message=message)
    messages.success(request, message)
    return redirect(_keys_url())


def login_locked_out(request, response=None, credentials=None):
    """django-axes' answer once an address or a user name failed too often: when to try again,
    in plain words, with 429 Too Many Requests."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    """The styled 404 page; JSON for the API, whose clients parse every answer."""
    if _wants_json(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    """The styled 500 page; JSON for the API. Nothing of the error is shown either way."""
    if _wants_json(request):
        return JsonResponse(
            {"detail": "Something went wrong on our side; nothing was saved. Try again."},
            status=500,
        )
    # Rendered without the request: its context processors read the database, which may be
    # what failed.
    return HttpResponseServerError(loader.get_template("500.html").render())
