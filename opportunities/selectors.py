"""Every read of opportunities the views, the API and the metrics use."""

from django.db.models import Q, QuerySet

from opportunities import permissions
from opportunities.models import (
    Account,
    Activity,
    Contact,
    EsatResponse,
    Opportunity,
    ProductGap,
    StageTransition,
)


def _restrict(queryset: QuerySet, user, prefix: str = "") -> QuerySet:
    scope = permissions.opportunity_visibility_q(user)
    if scope is None:
        return queryset
    if prefix:
        # Re-root the scope under a relation: Q(team_id__in=...) -> Q(opportunity__team_id__in=...)
        scope = _prefix_q(scope, prefix)
    return queryset.filter(scope)


def _prefix_q(q: Q, prefix: str) -> Q:
    clone = Q()
    clone.connector, clone.negated = q.connector, q.negated
    clone.children = [
        _prefix_q(child, prefix) if isinstance(child, Q) else (f"{prefix}__{child[0]}", child[1])
        for child in q.children
    ]
    return clone


def opportunity_list(*, user) -> QuerySet[Opportunity]:
    return _restrict(
        Opportunity.objects.select_related(
            "account", "process", "stage", "owner", "account_executive", "team"
        ),
        user,
    )


def opportunity_get(*, user, pk) -> Opportunity | None:
    return opportunity_list(user=user).filter(pk=pk).first()


def transition_list(*, opportunity: Opportunity) -> QuerySet[StageTransition]:
    return (
        StageTransition.objects.filter(opportunity=opportunity)
        .select_related("from_stage", "to_stage", "moved_by")
        .order_by("moved_at", "pk")
    )


def activity_list(*, user) -> QuerySet[Activity]:
    return _restrict(
        Activity.objects.select_related("opportunity", "created_by"), user, "opportunity"
    )


def esat_response_list(*, user) -> QuerySet[EsatResponse]:
    return _restrict(
        EsatResponse.objects.select_related("opportunity", "stage"), user, "opportunity"
    )


def product_gap_list(*, user) -> QuerySet[ProductGap]:
    return _restrict(
        ProductGap.objects.select_related("opportunity", "created_by"), user, "opportunity"
    )


def account_list(*, user) -> QuerySet[Account]:
    if not permissions.can_view_accounts(user):
        return Account.objects.none()
    return Account.objects.select_related("team")


def contact_list(*, user) -> QuerySet[Contact]:
    if not permissions.can_view_accounts(user):
        return Contact.objects.none()
    return Contact.objects.select_related("account")
