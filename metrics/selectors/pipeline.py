"""The pipeline: open deals now per stage, the history of the daily snapshots, and what a
snapshot stores (today's open deals, or a past day's rebuilt from the transitions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, ExpressionWrapper, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from metrics.cache import cached
from metrics.models import MetricSnapshot
from metrics.selectors.common import AMOUNT, OPEN, money
from metrics.selectors.scope import Period, Scope
from opportunities import permissions as opportunity_permissions
from opportunities.models import Opportunity, StageTransition, Team
from stages.models import Process, Stage


@cached("pipeline_by_stage")
def pipeline_by_stage(*, scope: Scope) -> list[dict]:
    """Open deals now, per stage: count, amount, and amount weighted by the stage probability."""
    rows = (
        scope.opportunities.order_by()
        .filter(outcome=OPEN)
        .values("stage", "stage__name", "stage__position", "stage__probability", "process__name")
        .annotate(
            open_count=Count("pk"),
            amount_total=Sum("amount", output_field=AMOUNT),
            weighted=Sum(
                ExpressionWrapper(
                    F("amount") * F("stage__probability") / Value(Decimal("100.0")),
                    output_field=AMOUNT,
                ),
                output_field=AMOUNT,
            ),
        )
        .order_by("process__name", "stage__position")
    )
    return [
        {
            "stage_id": row["stage"],
            "name": row["stage__name"],
            "process": row["process__name"],
            "probability": row["stage__probability"],
            "open_count": row["open_count"],
            "amount": money(row["amount_total"] or 0),
            "weighted_amount": money(row["weighted"] or 0),
        }
        for row in rows
    ]


def pipeline_history(
    *,
    user,
    process: Process | None,
    team: Team | None = None,
    period: Period = Period(),  # noqa: B008 (a frozen dataclass: one shared default is safe)
) -> list[dict]:
    """Daily snapshots (see MetricSnapshot), summed over the teams the user may see."""
    snapshots = MetricSnapshot.objects.all()
    if process is not None:
        snapshots = snapshots.filter(process=process)
    if team is not None:
        snapshots = snapshots.filter(team=team)
    if opportunity_permissions.opportunity_visibility_q(user) is not None:
        snapshots = snapshots.filter(
            team_id__in=list(opportunity_permissions.visible_team_ids(user))
        )
    if period.start is not None:
        snapshots = snapshots.filter(day__gte=timezone.localdate(period.start))
    if period.end is not None:
        snapshots = snapshots.filter(day__lt=timezone.localdate(period.end))
    rows = (
        snapshots.values("day")
        .annotate(
            open_count=Sum("open_count"),
            pipeline=Sum("pipeline_amount"),
            weighted=Sum("weighted_pipeline_amount"),
        )
        .order_by("day")
    )
    return [
        {
            "day": row["day"],
            "open_count": row["open_count"],
            "pipeline_amount": money(row["pipeline"]),
            "weighted_pipeline_amount": money(row["weighted"]),
        }
        for row in rows
    ]


def open_pipeline_by_stage_and_team() -> QuerySet:
    """What a snapshot stores: every open deal, grouped by process, stage and team."""
    return (
        Opportunity.objects.filter(outcome=OPEN)
        .values("process_id", "stage_id", "team_id")
        .annotate(
            open_count=Count("pk"),
            amount_total=Coalesce(Sum("amount"), Decimal("0"), output_field=AMOUNT),
            weighted=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("amount") * F("stage__probability") / Value(Decimal("100.0")),
                        output_field=AMOUNT,
                    ),
                    output_field=AMOUNT,
                ),
                Decimal("0"),
                output_field=AMOUNT,
            ),
        )
        .order_by("process_id", "stage_id", "team_id")
    )


def open_pipeline_on(moment: datetime) -> QuerySet:
    """The open pipeline as it stood at `moment`, rebuilt from the transitions: each deal in the
    stage its last transition before then entered. Amounts are today's (edits are not
    events), so a rebuilt day is an approximation of what a snapshot would have stored."""
    last = StageTransition.objects.filter(
        opportunity_id=OuterRef("pk"), moved_at__lt=moment
    ).order_by("-moved_at", "-pk")
    stage_then = Subquery(last.values("to_stage_id")[:1])
    kind_then = Subquery(last.values("to_stage__kind")[:1])
    probability_then = Subquery(last.values("to_stage__probability")[:1])
    return (
        Opportunity.objects.filter(created_at__lt=moment)
        .annotate(stage_then=stage_then, kind_then=kind_then, probability_then=probability_then)
        .filter(kind_then=Stage.Kind.OPEN)
        .values("process_id", "stage_then", "team_id")
        .annotate(
            open_count=Count("pk"),
            amount_total=Coalesce(Sum("amount"), Decimal("0"), output_field=AMOUNT),
            weighted=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("amount") * F("probability_then") / Value(Decimal("100.0")),
                        output_field=AMOUNT,
                    ),
                    output_field=AMOUNT,
                ),
                Decimal("0"),
                output_field=AMOUNT,
            ),
        )
        .order_by("process_id", "stage_then", "team_id")
    )
