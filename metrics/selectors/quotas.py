"""Quotas: what each person achieved against their quota, and the deals that count towards one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, F, Func, IntegerField, OuterRef, Q, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from epos.lib.errors import InvalidInput
from epos.lib.roles import ADMIN, has_role
from metrics.models import Quota
from metrics.selectors.common import AMOUNT, WON, full_name
from opportunities import permissions as opportunity_permissions
from opportunities.measures import ratio
from opportunities.models import Opportunity, Team


def quota_visible_users_q(user) -> Q | None:
    """Quotas of the people whose deals the user may see: everyone for admins and curators,
    else the members of the user's teams (managed or joined) and the user."""
    if opportunity_permissions.opportunity_visibility_q(user) is None:
        return None
    members = Team.members.through.objects.filter(
        team_id__in=list(opportunity_permissions.visible_team_ids(user))
    ).values("user_id")
    return Q(user_id__in=members) | Q(user_id=user.pk)


def quota_attainment(*, user, on: date | None = None, team: Team | None = None) -> list[dict]:
    """Quotas whose period contains `on` (default today), with what was achieved in the period.

    Won amount: the amount of deals won in the quota's period where the person is the owner or
    the account executive. Qualified opportunities: deals whose MTTC clock started (they
    entered the qualifying stage that starts the clock) in the period, credited the same way.
    Both are counted over all of the person's deals, whatever the dashboard filters.
    """
    on = on or timezone.localdate()
    quotas = Quota.objects.filter(period_start__lte=on, period_end__gte=on)
    scope_q = quota_visible_users_q(user)
    if scope_q is not None:
        quotas = quotas.filter(scope_q)
    if team is not None:
        quotas = quotas.filter(user__teams=team)
    credited = Q(owner_id=OuterRef("user_id")) | Q(account_executive_id=OuterRef("user_id"))
    won_amount = (
        Opportunity.objects.filter(credited, outcome=WON)
        .filter(
            closed_at__date__gte=OuterRef("period_start"),
            closed_at__date__lte=OuterRef("period_end"),
        )
        .order_by()
        .annotate(total=Func(F("amount"), function="SUM", output_field=AMOUNT))
        .values("total")
    )
    qualified = (
        Opportunity.objects.filter(credited)
        .filter(
            engaged_at__date__gte=OuterRef("period_start"),
            engaged_at__date__lte=OuterRef("period_end"),
        )
        .order_by()
        .annotate(total=Func(F("pk"), function="COUNT", output_field=IntegerField()))
        .values("total")
    )
    rows = (
        quotas.annotate(
            achieved=Case(
                When(
                    kind=Quota.Kind.WON_AMOUNT,
                    then=Coalesce(Subquery(won_amount, output_field=AMOUNT), Decimal("0")),
                ),
                default=Coalesce(Subquery(qualified, output_field=AMOUNT), Decimal("0")),
                output_field=AMOUNT,
            )
        )
        .values(
            "pk",
            "kind",
            "period_start",
            "period_end",
            "target",
            "achieved",
            "user_id",
            "user__first_name",
            "user__last_name",
            "user__username",
        )
        .order_by("kind", "user__last_name", "user__first_name", "user_id", "period_start")
    )
    kinds = dict(Quota.Kind.choices)
    result = []
    for row in rows:
        achieved = float(row["achieved"] or 0)
        target = float(row["target"])
        result.append(
            {
                "quota_id": row["pk"],
                "user_id": row["user_id"],
                "name": full_name(row, "user"),
                "kind": row["kind"],
                "kind_label": kinds[row["kind"]],
                "period_start": row["period_start"],
                "period_end": row["period_end"],
                "target": target,
                "achieved": achieved,
                "attainment": ratio(achieved, target),
            }
        )
    return result


def quota_deals_q(user, key) -> Q:
    """The deals counted towards quota `key`, one the user may see (a drill-down's list)."""
    quotas = Quota.objects.all()
    visible = quota_visible_users_q(user)
    if visible is not None:
        quotas = quotas.filter(visible)
    try:
        quota = quotas.get(pk=int(key))
    except (TypeError, ValueError, Quota.DoesNotExist) as exc:
        raise InvalidInput("Unknown quota.", errors={"key": [str(key)]}) from exc
    credited = Q(owner_id=quota.user_id) | Q(account_executive_id=quota.user_id)
    if quota.kind == Quota.Kind.WON_AMOUNT:
        moment = Q(outcome=WON, closed_at__date__gte=quota.period_start) & Q(
            closed_at__date__lte=quota.period_end
        )
    else:
        moment = Q(engaged_at__date__gte=quota.period_start, engaged_at__date__lte=quota.period_end)
    return credited & moment


def quota_people(*, user):
    """Whom `user` may set a quota for: everyone active for an admin, a manager's team members."""
    users = get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")
    if has_role(user, ADMIN):
        return users
    managed = list(opportunity_permissions.managed_team_ids(user))
    return users.filter(teams__in=managed).distinct()
