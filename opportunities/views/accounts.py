"""Accounts: the customer directory with each account's top-down profile and its deals."""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models.functions import Length
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from epos.lib.errors import DomainError
from opportunities import permissions, selectors, services
from opportunities.forms import ACCOUNT_ID_SUFFIX, AccountForm, account_choice_label
from opportunities.models import Account
from opportunities.views.common import error_text

ACCOUNTS_PAGE_SIZE = 50


def _get_account_for_user(request, pk: int) -> Account:
    account = selectors.account_list(user=request.user).filter(pk=pk).first()
    if account is None:
        raise Http404("No such account.")
    return account


@require_safe
@login_required
def account_list(request):
    if not permissions.can_view_accounts(request.user):
        raise PermissionDenied("Your role may not see accounts.")
    accounts = selectors.account_list_with_counts(user=request.user).order_by("name", "pk")
    search = request.GET.get("q", "").strip()
    if search:
        accounts = accounts.filter(name__icontains=search)
    segment = request.GET.get("segment", "")
    if segment in Account.Segment.values:
        accounts = accounts.filter(segment=segment)
    page = Paginator(accounts, ACCOUNTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "opportunities/accounts/list.html",
        {
            "page": page,
            "q": search,
            "segment": segment,
            "segments": Account.Segment.choices,
            "can_edit": permissions.can_edit_accounts(request.user),
        },
    )


@require_safe
@login_required
def account_detail(request, pk: int):
    account = _get_account_for_user(request, pk)
    return render(
        request,
        "opportunities/accounts/detail.html",
        {
            "account": account,
            "contacts": selectors.account_contacts(account=account),
            "opportunities": list(
                selectors.account_opportunities(user=request.user, account=account)
            ),
            "can_edit": permissions.can_edit_accounts(request.user),
            "can_create": permissions.can_create_opportunity(request.user),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def account_edit(request, pk: int | None = None):
    if not permissions.can_edit_accounts(request.user):
        raise PermissionDenied("Your role may not change accounts.")
    account = _get_account_for_user(request, pk) if pk is not None else None
    form = AccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in AccountForm.Meta.fields}
        try:
            if account is None:
                name = fields.pop("name")
                account = services.account_create(actor=request.user, name=name, **fields)
                messages.success(request, f"Account “{account.name}” created.")
            else:
                account = services.account_update(
                    account=Account.objects.get(pk=account.pk), actor=request.user, **fields
                )
                messages.success(request, "Account saved.")
        except (DomainError, ValidationError) as exc:
            form.add_error(None, error_text(exc))
        else:
            return redirect("opportunities:account-detail", pk=account.pk)
    return render(request, "opportunities/accounts/form.html", {"form": form, "account": account})


SUGGESTIONS = 10


@require_safe
@login_required
def account_suggest(request):
    """The account type-ahead of the create form: <option>s for its <datalist>, names that
    repeat carrying their number so the form knows which one was meant."""
    if not permissions.can_view_accounts(request.user):
        raise PermissionDenied("Your role may not see accounts.")
    typed = (request.GET.get("new_account_name") or request.GET.get("q") or "").strip()[:100]
    typed = ACCOUNT_ID_SUFFIX.sub("", typed).replace("\x00", "")
    found = []
    if typed:
        accounts = selectors.account_list(user=request.user)
        # Shortest names first: an exact name, and every account sharing it, comes on top.
        found = list(
            accounts.filter(name__icontains=typed)
            .select_related(None)
            .order_by(Length("name"), "name", "pk")
            .only("pk", "name")[:SUGGESTIONS]
        )
    names = Counter(account.name for account in found)
    options = [
        account_choice_label(account, ambiguous=names[account.name] > 1) for account in found
    ]
    return render(request, "opportunities/partials/_account_options.html", {"options": options})
