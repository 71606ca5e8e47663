"""Which stage's dwell grew most: the deals won in the last 90 days against the 180 days before."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from metrics.cache import cached
from metrics.selectors.common import WON, optional_float
from metrics.selectors.scope import Period, Scope
from opportunities.measures import DaysBetween, visit_length
from opportunities.models import StageTransition
from stages.models import Stage

RECENT_DAYS, BASELINE_DAYS = 90, 180


@dataclass
class DwellShift:
    stage: Stage
    baseline_days: float | None  # mean days per won deal spent in the stage, baseline window
    recent_days: float | None

    @property
    def change_days(self) -> float | None:
        if self.baseline_days is None or self.recent_days is None:
            return None
        return self.recent_days - self.baseline_days

    @property
    def change_pct(self) -> float | None:
        change = self.change_days
        if change is None or not self.baseline_days:
            return None
        return change / self.baseline_days


@dataclass
class DwellShiftReport:
    recent: Period
    baseline: Period
    recent_won: int
    baseline_won: int
    mttc_recent: float | None
    mttc_baseline: float | None
    stages: list[DwellShift]

    @property
    def mttc_change(self) -> float | None:
        if self.mttc_recent is None or self.mttc_baseline is None:
            return None
        return self.mttc_recent - self.mttc_baseline

    @property
    def top(self) -> DwellShift | None:
        grown = [s for s in self.stages if s.change_days is not None and s.change_days > 0]
        return max(grown, key=lambda s: s.change_days, default=None)

    def share_of_mttc_change(self, shift: DwellShift) -> float | None:
        change = self.mttc_change
        if not change or shift.change_days is None:
            return None
        return shift.change_days / change


@cached("dwell_shift")
def dwell_shift(
    *, scope: Scope, stages: Sequence[Stage], now: datetime | None = None
) -> DwellShiftReport:
    """Which stage's dwell grew most: last 90 days against the 180 days before.

    Both windows look at deals won in them. For each stage, the time a won deal spent in it
    between its clock start and its close (all its visits, summed) is averaged over the won
    deals of the window. Those per-stage figures add up to the deal's MTTC, so the change of a
    stage divided by the change of MTTC is the share of the MTTC change that stage explains.
    Visits of a won stage left again (a reopened deal) count under the won stage.
    """
    end = now or scope.period.end or timezone.now()
    recent = Period(start=end - timedelta(days=RECENT_DAYS), end=end)
    baseline = Period(start=recent.start - timedelta(days=BASELINE_DAYS), end=recent.start)
    won_ids = (
        scope.opportunities.order_by()
        .filter(
            outcome=WON, engaged_at__isnull=False, closed_at__gte=baseline.start, closed_at__lt=end
        )
        .values("pk")
    )
    visits = StageTransition.objects.filter(opportunity__in=won_ids).annotate(
        deal_closed_at=F("opportunity__closed_at"), deal_engaged_at=F("opportunity__engaged_at")
    )
    in_clock = Q(
        left_at__isnull=False,
        moved_at__gte=F("deal_engaged_at"),
        left_at__lte=F("deal_closed_at"),
    )
    final = Q(left_at__isnull=True)  # the entry into Won that closed the deal
    stay = visit_length()
    windows = {"recent": recent.q("deal_closed_at"), "baseline": baseline.q("deal_closed_at")}
    aggregates = {}
    for name, window in windows.items():
        aggregates[f"won_{name}"] = Count("pk", filter=final & window)
        aggregates[f"mttc_days_{name}"] = Sum(
            DaysBetween(F("deal_closed_at"), F("deal_engaged_at")), filter=final & window
        )
        aggregates[f"stay_{name}"] = Sum(stay, filter=in_clock & window)
    # One group per stage entered; the final entries fall in the won stages' groups.
    per_stage = {
        row["to_stage_id"]: row
        for row in visits.values("to_stage_id").annotate(**aggregates).order_by()
    }
    row = {}
    for name in windows:
        won = sum(group[f"won_{name}"] for group in per_stage.values())
        mttc_days = sum(group[f"mttc_days_{name}"] or 0.0 for group in per_stage.values())
        row[f"won_{name}"] = won
        row[f"mttc_{name}"] = mttc_days / won if won else None
    shifts = []
    for stage in stages:
        per_deal = {}
        for name in windows:
            won = row[f"won_{name}"]
            total = per_stage.get(stage.pk, {}).get(f"stay_{name}") or 0.0
            per_deal[name] = total / won if won else None
        if not (per_deal["recent"] or per_deal["baseline"]):
            # Never dwelt in by a won deal's clock in either window (a stage before the
            # clock starts, a closed stage never reopened): nothing to compare.
            continue
        shifts.append(
            DwellShift(
                stage=stage, baseline_days=per_deal["baseline"], recent_days=per_deal["recent"]
            )
        )
    return DwellShiftReport(
        recent=recent,
        baseline=baseline,
        recent_won=row["won_recent"],
        baseline_won=row["won_baseline"],
        mttc_recent=optional_float(row["mttc_recent"]),
        mttc_baseline=optional_float(row["mttc_baseline"]),
        stages=shifts,
    )
