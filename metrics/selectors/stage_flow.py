"""Stage flow, per stage of one process: the funnel (reached-or-passed conversion) and the time
in stage, both read from the stage transitions (one row per visit of a stage)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, DateTimeField, F, Max, Q, QuerySet, Value
from django.utils import timezone

from epos.lib.errors import InvalidInput
from metrics.cache import cached
from metrics.expressions import PercentilesCont, supports_percentile_aggregate
from metrics.selectors.common import (
    OPEN,
    PERCENTILES,
    optional_float,
    percentiles_of,
    split_percentiles,
)
from metrics.selectors.scope import Scope
from opportunities import selectors as opportunity_selectors
from opportunities.measures import DaysBetween, past_target_q, ratio, visit_length
from opportunities.models import StageTransition
from stages.models import Process, Stage


@dataclass
class StageFlow:
    stage: Stage
    entered: int = 0
    converted: int = 0
    completed_visits: int = 0
    mean_days: float | None = None
    median_days: float | None = None
    p90_days: float | None = None
    open_visits: int = 0
    open_age_mean_days: float | None = None
    open_age_max_days: float | None = None
    open_over_target: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converted, self.entered)


def process_stages(process: Process) -> list[Stage]:
    return opportunity_selectors.process_stages(process.pk)


def _flow_opportunities(scope: Scope) -> QuerySet:
    """The deals whose transitions a stage metric reads. A deal closed before the period has
    no move in it (its close is its last move), so it is skipped."""
    opportunities = scope.opportunities.order_by()
    if scope.period.start is not None:
        opportunities = opportunities.filter(Q(outcome=OPEN) | Q(closed_at__gte=scope.period.start))
    return opportunities.values("pk")


def _stage_transitions(scope: Scope, stage_ids: Iterable[int]) -> QuerySet[StageTransition]:
    """Transitions into these stages (of the scope's process) by the deals of the scope.

    Each row is a visit: it lasts until `left_at` (the deal's next transition), or is still
    going on when that is null. The stage ids are given as literals, so the planner knows how
    many rows each one has.
    """
    rows = StageTransition.objects.filter(to_stage_id__in=sorted(stage_ids))
    if scope.narrowed:
        rows = rows.filter(opportunity__in=_flow_opportunities(scope))
    return rows


def _funnel_counts(scope: Scope, stages: Sequence[Stage]) -> dict[int, tuple[int, int]]:
    """{stage id: (entered, converted)}, one group per stage.

    Entered: the deals with an entry into the stage in the period. Converted: those of them
    with such an entry followed, at any time, by an entry into an open or won stage past it,
    which is what the entry's `passed_at` records. (The first entry in the period is passed
    exactly when any later one is, so counting deals with some passed entry is the same.)
    """
    entries = _stage_transitions(scope, [stage.pk for stage in stages]).filter(
        scope.period.q("moved_at")
    )
    rows = {
        row["to_stage_id"]: row
        for row in entries.values("to_stage_id")
        .annotate(
            entered=Count("opportunity_id", distinct=True),
            converted=Count("opportunity_id", distinct=True, filter=Q(passed_at__isnull=False)),
        )
        .order_by()
    }
    counts = {}
    for stage in stages:
        row = rows.get(stage.pk, {})
        converted = row.get("converted", 0) if stage.kind == Stage.Kind.OPEN else 0
        counts[stage.pk] = (row.get("entered", 0), converted)
    return counts


def _time_figures(scope: Scope, stages: Sequence[Stage], now: datetime) -> dict[int, dict]:
    """Per stage, one group of its visits: those that ended in the period (durations) and
    those still going on (ages), whatever the period."""
    percentiles_in_sql = supports_percentile_aggregate()
    done = Q(left_at__isnull=False)
    waiting = Q(left_at__isnull=True)
    stay = visit_length()
    age = DaysBetween(Value(now, output_field=DateTimeField()), F("moved_at"))
    past_target = past_target_q(stages, now)
    # Counting `moved_at` (never null), not the id: every column read is in the covering
    # index transition_stage_deal_idx, so PostgreSQL scans the index alone.
    aggregates = {
        "completed": Count("moved_at", filter=done),
        "mean": Avg(stay, filter=done),
        "open": Count("moved_at", filter=waiting),
        "age_mean": Avg(age, filter=waiting),
        "age_max": Max(age, filter=waiting),
    }
    if past_target is not None:
        aggregates["overdue"] = Count("moved_at", filter=waiting & past_target)
    if percentiles_in_sql:
        aggregates["percentiles"] = PercentilesCont(stay, PERCENTILES, filter=done)
    visits = _stage_transitions(scope, [stage.pk for stage in stages])
    if scope.period.bounded:  # (`waiting | Q()` would be `waiting` alone: guard, don't OR)
        visits = visits.filter(waiting | scope.period.q("left_at"))
    rows = {
        row["to_stage_id"]: row
        for row in visits.values("to_stage_id").annotate(**aggregates).order_by()
    }
    if not percentiles_in_sql:
        durations = (
            visits.filter(done)
            .annotate(stay=stay)
            .values_list("to_stage_id", "stay")
            .order_by("to_stage_id")
        )
        for stage_id, values in itertools.groupby(durations, key=lambda pair: pair[0]):
            rows[stage_id]["percentiles"] = percentiles_of(days for _, days in values)
    figures = {}
    for stage in stages:
        row = rows.get(stage.pk, {})
        figures[stage.pk] = {
            "completed_visits": row.get("completed", 0),
            "mean_days": optional_float(row.get("mean")),
            "percentiles": split_percentiles(row.get("percentiles")),
            "open_visits": row.get("open", 0),
            "open_age_mean_days": optional_float(row.get("age_mean")),
            "open_age_max_days": optional_float(row.get("age_max")),
            "open_over_target": row.get("overdue", 0) if stage.target_days else 0,
        }
    return figures


def _stage_flow(
    *, scope: Scope, stages: Sequence[Stage], funnel: bool, time: bool, now: datetime
) -> list[StageFlow]:
    open_stages = [stage for stage in stages if stage.kind == Stage.Kind.OPEN]
    won_stages = [stage for stage in stages if stage.kind == Stage.Kind.WON] if funnel else []
    shown = [*open_stages, *won_stages]
    if not shown:
        return []
    counts = _funnel_counts(scope, shown) if funnel else {}
    times = _time_figures(scope, open_stages, now) if time and open_stages else {}
    flows = []
    for stage in shown:
        flow = StageFlow(stage=stage)
        if stage.pk in counts:
            flow.entered, flow.converted = counts[stage.pk]
        if stage.pk in times:
            figures = times[stage.pk]
            flow.median_days, flow.p90_days = figures.pop("percentiles")
            for name, value in figures.items():
                setattr(flow, name, value)
        flows.append(flow)
    return flows


@cached("funnel")
def funnel(*, scope: Scope, stages: Sequence[Stage] | None = None) -> list[StageFlow]:
    """Reached-or-passed conversion: of the opportunities that entered stage k in the period,
    those that later entered any later open stage or the won stage. The won stage closes the
    list with its entries (no conversion)."""
    stages = stages if stages is not None else _require_process_stages(scope)
    return _stage_flow(scope=scope, stages=stages, funnel=True, time=False, now=timezone.now())


@cached("time_in_stage")
def time_in_stage(
    *, scope: Scope, stages: Sequence[Stage] | None = None, now: datetime | None = None
) -> list[StageFlow]:
    """Per visit of an open stage: completed visits that ended in the period give the mean,
    median and p90; visits still open are ageing (now minus entry), whatever the period."""
    stages = stages if stages is not None else _require_process_stages(scope)
    return _stage_flow(
        scope=scope, stages=stages, funnel=False, time=True, now=now or timezone.now()
    )


def _require_process_stages(scope: Scope) -> list[Stage]:
    if scope.process is None:
        raise InvalidInput(
            "Stage metrics are per process: pass ?process=<id>.", errors={"process": ["required"]}
        )
    return process_stages(scope.process)
