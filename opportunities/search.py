"""What the top bar's search (epos.search) finds among deals, accounts and contacts.

Each finder is one query on the user's visible rows: deals through
`permissions.opportunity_visibility_q`, accounts and contacts (a directory every role reads)
through `permissions.can_view_accounts`. On PostgreSQL the names (and contacts' emails) are
matched through the trigram indexes of migration 0014.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.urls import reverse

from epos.search import SearchGroup, SearchHit, register_search_group, text_matches
from opportunities import permissions
from opportunities.models import Account, Contact, Opportunity


def _prefix_first(field: str, text: str) -> Case:
    """0 for a row whose `field` starts with the text, else 1: "Acme" before "Big Acme deal"."""
    return Case(
        When(**{f"{field}__istartswith": text}, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )


def deals_named(*, user, text: str) -> QuerySet[Opportunity]:
    """The deals the user may see whose name matches the text."""
    deals = Opportunity.objects.filter(text_matches("name", text))
    scope = permissions.opportunity_visibility_q(user)
    return deals if scope is None else deals.filter(scope)


def deals_matching(*, user, text: str, limit: int) -> list[SearchHit]:
    """Deals whose name holds the text, newest first (as the opportunity list): a common text
    walks the `-created_at` index and stops at the first matches, a rare one is read from the
    trigram index. Ranking open deals first would sort every match (190 ms for "deal" over
    the bench's 100,000); the badge tells the closed ones apart instead."""
    rows = (
        deals_named(user=user, text=text)
        .select_related("account", "stage")
        .only("name", "outcome", "account__name", "stage__name")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        SearchHit(
            title=deal.name,
            url=reverse("opportunities:opportunity-detail", args=[deal.pk]),
            detail=" · ".join(
                part
                for part in (deal.account.name if deal.account else "", deal.stage.name)
                if part
            ),
            badge="" if deal.outcome == Opportunity.Outcome.OPEN else deal.get_outcome_display(),
        )
        for deal in rows
    ]


def accounts_matching(*, user, text: str, limit: int) -> list[SearchHit]:
    if not permissions.can_view_accounts(user):
        return []
    rows = (
        Account.objects.filter(text_matches("name", text))
        .only("name", "industry", "country")
        .annotate(later=_prefix_first("name", text))
        .order_by("later", "name", "pk")[:limit]
    )
    return [
        SearchHit(
            title=account.name,
            url=reverse("opportunities:account-detail", args=[account.pk]),
            detail=" · ".join(part for part in (account.industry, account.country) if part),
        )
        for account in rows
    ]


def contacts_matching(*, user, text: str, limit: int) -> list[SearchHit]:
    """Contacts by name or email; a contact opens on its account's page."""
    if not permissions.can_view_accounts(user):
        return []
    rows = (
        Contact.objects.filter(
            text_matches("name", text) | text_matches("email", text, words=False)
        )
        .select_related("account")
        .only("name", "title", "email", "account__name")
        .annotate(later=_prefix_first("name", text))
        .order_by("later", "name", "pk")[:limit]
    )
    return [
        SearchHit(
            title=contact.name,
            url=reverse("opportunities:account-detail", args=[contact.account_id])
            + "#contacts-title",
            detail=" · ".join(part for part in (contact.title, contact.account.name) if part),
            badge="",
        )
        for contact in rows
    ]


def _deal_list_url(text: str) -> str:
    return (
        reverse("opportunities:opportunity-list")
        + "?"
        + urlencode({"search": text, "outcome": "all"})
    )


def _account_list_url(text: str) -> str:
    return reverse("opportunities:account-list") + "?" + urlencode({"q": text})


def register() -> None:
    register_search_group(
        SearchGroup(
            key="deals", label="Deals", position=10, find=deals_matching, see_all=_deal_list_url
        )
    )
    register_search_group(
        SearchGroup(
            key="accounts",
            label="Accounts",
            position=20,
            find=accounts_matching,
            see_all=_account_list_url,
        )
    )
    register_search_group(
        SearchGroup(key="contacts", label="Contacts", position=30, find=contacts_matching)
    )
