"""Helpers every opportunities view shares."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string

from epos.lib.errors import DomainError, Forbidden
from epos.lib.htmx import with_message
from epos.lib.roles import user_roles
from opportunities import selectors
from opportunities.models import Opportunity


def get_opportunity_for_user(request, pk) -> Opportunity:
    """The opportunity if the user may see it; 404 otherwise, so its existence does not leak."""
    opportunity = selectors.opportunity_get(user=request.user, pk=pk)
    if opportunity is None:
        raise Http404("No such opportunity.")
    return opportunity


def require_role(request) -> None:
    """A user with no EPOS role sees nothing, not even the processes a board or a list shows."""
    if not user_roles(request.user):
        raise PermissionDenied("Your account has no EPOS role; ask an admin to assign one.")


def error_text(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return " ".join(
                f"{'' if field == '__all__' else field.replace('_', ' ') + ': '}{message}"
                for field, errors in exc.message_dict.items()
                for message in errors
            )
        return " ".join(exc.messages)
    return str(exc)


def section_or_redirect(request, *, template: str, context: dict, message: str, url: str):
    """htmx gets the re-rendered section (with a toast trigger); a plain POST gets a redirect."""
    if request.htmx:
        response = HttpResponse(render_to_string(template, context, request=request))
        return with_message(response, message)
    if message:
        messages.success(request, message)
    return redirect(url)


def refuse(request, exc: Exception, *, url: str, status: int | None = None):
    """A refused write: 403 for permissions, else the message back where the user came from."""
    text = error_text(exc)
    if isinstance(exc, Forbidden) and not request.htmx:
        raise PermissionDenied(text)
    if request.htmx:
        code = status or getattr(exc, "status_code", 400)
        return HttpResponse(text, status=code, content_type="text/plain; charset=utf-8")
    messages.error(request, text)
    return redirect(url)
