"""Drill-down: the opportunities behind one figure of the dashboard, under the same filters."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from epos.lib.errors import InvalidInput
from epos.lib.ids import parse_id
from metrics.selectors.common import LOST, OPEN, QUALIFIED_OUT, WON
from metrics.selectors.compliance import COMPLIANT_EXIT, overridden_deal
from metrics.selectors.groupings import GROUPINGS
from metrics.selectors.quotas import quota_deals_q
from metrics.selectors.scope import Period, Scope
from opportunities.measures import mttc_duration
from opportunities.models import Opportunity, StageTransition, Team
from opportunities.selectors import opportunity_list
from stages.models import Stage

DRILLS = {
    "won": "Won in the period",
    "lost": "Lost in the period",
    "qualified_out": "Qualified out in the period",
    "closed": "Won or lost in the period",
    "open": "Open now",
    "stage_entered": "Entered the stage in the period",
    "stage_converted": "Entered the stage in the period and later moved past it",
    "stage_dropped": "Entered the stage in the period and never moved past it",
    "stage_completed": "Left the stage in the period",
    "stage_open": "In the stage now",
    "stage_overridden": "Left the stage in the period with a gate overridden",
    "overridden": "Closed in the period with a gate overridden",
    "compliant": "Closed in the period with every gate met",
    "quota": "Counted towards the quota",
}


def drilldown(
    *,
    scope: Scope,
    drill: str,
    stage: Stage | None = None,
    group_by: str | None = None,
    key: str | None = None,
) -> QuerySet[Opportunity]:
    """The opportunities behind one figure of the dashboard, under the same filters."""
    if drill not in DRILLS:
        raise InvalidInput(f"Unknown list {drill!r}.", errors={"drill": [drill]})
    closed_in = scope.period.q("closed_at")
    opportunities = scope.opportunities
    by_outcome = {
        "won": Q(outcome=WON) & closed_in,
        "lost": Q(outcome=LOST) & closed_in,
        "qualified_out": Q(outcome=QUALIFIED_OUT) & closed_in,
        "closed": Q(outcome__in=(WON, LOST)) & closed_in,
        "open": Q(outcome=OPEN),
    }
    if drill in by_outcome:
        opportunities = opportunities.filter(by_outcome[drill])
    elif drill == "quota":
        # A quota counts all of the person's deals, whatever the page's other filters.
        opportunities = opportunity_list(user=scope.user).filter(quota_deals_q(scope.user, key))
        group_by = None
    elif drill in ("overridden", "compliant"):
        opportunities = opportunities.filter(Q(outcome__in=(WON, LOST)) & closed_in).filter(
            overridden_deal() if drill == "overridden" else ~overridden_deal()
        )
    else:
        if stage is None:
            raise InvalidInput("This list needs a stage.", errors={"stage": ["required"]})
        opportunities = opportunities.filter(_stage_drill_q(drill, stage, scope.period))
    if group_by:
        opportunities = _group_filter(opportunities, group_by, key)
    return opportunities.order_by(
        F("closed_at").desc(nulls_last=True), F("stage_entered_at").desc(), F("pk").desc()
    )


def _stage_drill_q(drill: str, stage: Stage, period: Period) -> Q:
    if drill == "stage_open":
        return Q(stage=stage, outcome=OPEN)
    if drill in ("stage_completed", "stage_overridden"):
        # A transition leaving the stage ends a visit of it.
        exits = StageTransition.objects.filter(
            Q(opportunity_id=OuterRef("pk"), from_stage=stage) & period.q("moved_at")
        )
        if drill == "stage_overridden":
            exits = exits.exclude(COMPLIANT_EXIT)
        return Q(Exists(exits))
    moved_past = StageTransition.objects.filter(
        opportunity_id=OuterRef("opportunity_id"),
        moved_at__gt=OuterRef("moved_at"),
        to_stage__position__gt=stage.position,
        to_stage__kind__in=(Stage.Kind.OPEN, Stage.Kind.WON),
    )
    entries = StageTransition.objects.filter(
        Q(opportunity_id=OuterRef("pk"), to_stage=stage) & period.q("moved_at")
    )
    if drill == "stage_entered":
        return Q(Exists(entries))
    converted = Exists(entries.filter(Exists(moved_past)))
    return Q(converted) if drill == "stage_converted" else Q(Exists(entries)) & ~Q(converted)


def _group_filter(opportunities: QuerySet, group_by: str, key: str | None) -> QuerySet:
    grouping = GROUPINGS.get(group_by)
    if grouping is None:
        raise InvalidInput(f"Unknown grouping {group_by!r}.", errors={"group_by": [group_by]})
    if grouping.name == "month":
        if not key:
            return opportunities.filter(closed_at__isnull=True)
        try:
            year, month = (int(part) for part in key.split("-"))
            first = timezone.make_aware(datetime(year, month, 1))
        except ValueError as exc:
            raise InvalidInput("A month is YYYY-MM.", errors={"key": [key]}) from exc
        following = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
        return opportunities.filter(closed_at__gte=first, closed_at__lt=following)
    path = grouping.key
    if key in (None, ""):
        return opportunities.filter(Q(**{f"{path}__isnull": True}) | Q(**{path: ""}))
    if path.endswith("_id"):
        try:
            return opportunities.filter(**{path: int(key)})
        except ValueError as exc:
            raise InvalidInput("Unknown group key.", errors={"key": [key]}) from exc
    return opportunities.filter(**{path: key})


def group_label(group_by: str | None, key: str | None) -> str:
    """How a drill-down names its group: "Owner: Alice Archer", "Month closed: 2025-03"."""
    grouping = GROUPINGS.get(group_by or "")
    if grouping is None:
        return ""
    if key in (None, ""):
        return f"{grouping.title}: {grouping.empty_label}"
    label = str(key)
    key_id = parse_id(key)
    if grouping.name in ("owner", "team") and key_id is not None:
        if grouping.name == "owner":
            user = get_user_model().objects.filter(pk=key_id).first()
            label = (user.get_full_name() or user.username) if user else label
        else:
            label = Team.objects.filter(pk=key_id).values_list("name", flat=True).first() or label
    elif grouping.choices is not None:
        label = str(grouping.choices.get(key, key))
    return f"{grouping.title}: {label}"


def drilldown_rows(opportunities: QuerySet[Opportunity]) -> QuerySet:
    """The columns of the drill-down list and its CSV, with the cycle time computed."""
    return opportunities.annotate(cycle_days=mttc_duration())


def drilldown_stage(*, scope: Scope, stage_id) -> Stage | None:
    """The stage a drill-down names (`?stage=`), if it is one of the scope's process."""
    pk = parse_id(stage_id)
    stage = Stage.objects.filter(pk=pk).first() if pk is not None else None
    if stage is None or (scope.process and stage.process_id != scope.process.pk):
        return None
    return stage
