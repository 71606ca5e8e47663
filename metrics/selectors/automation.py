"""How much of the checklist completes itself (opportunities.automation), per stage, and the time
it saves: `automation_report`.

- Per stage, among the items that name their evidence: completions ticked by the evidence rule
  (`auto_event_id` set) and by hand, over the deals the user may see, ticked in the window.
- The lag of a manual tick: from the first event that would have completed the item (same deal,
  same event, its condition holding) to the tick. Its median is what an automatic completion
  saves; times the automatic completions, the time saved in the window.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from epos.models import OutboxMessage
from opportunities.automation import condition_holds
from opportunities.models import ChecklistCompletion
from opportunities.selectors import opportunity_list

WINDOW_DAYS = 90
# The manual ticks whose lag is measured: the newest this many (a median needs no more).
LAG_SAMPLE = 2000


@dataclass(frozen=True)
class StageAutomation:
    process: str
    stage: str
    automatic: int
    manual: int

    @property
    def total(self) -> int:
        return self.automatic + self.manual

    @property
    def share(self) -> float:
        return round(100 * self.automatic / self.total, 1) if self.total else 0.0


@dataclass(frozen=True)
class AutomationReport:
    days: int
    stages: list[StageAutomation] = field(default_factory=list)
    lags: list[timedelta] = field(default_factory=list)

    @property
    def automatic(self) -> int:
        return sum(row.automatic for row in self.stages)

    @property
    def manual(self) -> int:
        return sum(row.manual for row in self.stages)

    @property
    def share(self) -> float:
        total = self.automatic + self.manual
        return round(100 * self.automatic / total, 1) if total else 0.0

    @property
    def median_lag(self) -> timedelta | None:
        return statistics.median(self.lags) if self.lags else None

    @property
    def time_saved(self) -> timedelta | None:
        lag = self.median_lag
        return lag * self.automatic if lag is not None else None


def automation_report(*, user, days: int = WINDOW_DAYS, process_id: int | None = None):
    """Three queries: the counts per stage, the manual ticks to measure, their evidence."""
    since = timezone.now() - timedelta(days=days)
    ticked = ChecklistCompletion.objects.filter(
        opportunity__in=opportunity_list(user=user).values("pk"),
        done=True,
        done_at__gte=since,
    ).exclude(item__evidence_event="")
    if process_id is not None:
        ticked = ticked.filter(item__stage__process_id=process_id)
    rows = (
        ticked.order_by()
        .values("item__stage__process__name", "item__stage__name", "item__stage__position")
        .annotate(
            automatic=Count("pk", filter=Q(auto_event_id__isnull=False)),
            manual=Count("pk", filter=Q(auto_event_id__isnull=True)),
        )
        .order_by("item__stage__process__name", "item__stage__position")
    )
    stages = [
        StageAutomation(
            process=row["item__stage__process__name"],
            stage=row["item__stage__name"],
            automatic=row["automatic"],
            manual=row["manual"],
        )
        for row in rows
    ]
    return AutomationReport(days=days, stages=stages, lags=_manual_lags(ticked, since))


def _manual_lags(ticked, since) -> list[timedelta]:
    manual = list(
        ticked.filter(auto_event_id__isnull=True)
        .order_by("-done_at")
        .values_list(
            "opportunity_id", "item__evidence_event", "item__evidence_condition", "done_at"
        )[:LAG_SAMPLE]
    )
    if not manual:
        return []
    deals = {deal for deal, _topic, _condition, _at in manual}
    topics = {topic for _deal, topic, _condition, _at in manual}
    evidence = defaultdict(list)  # (deal, topic) -> [(created_at, payload)], oldest first
    for topic, payload, created_at in (
        OutboxMessage.objects.filter(
            topic__in=topics,
            created_at__gte=since - timedelta(days=WINDOW_DAYS),
            payload__opportunity_id__in=deals,
        )
        .order_by("created_at", "pk")
        .values_list("topic", "payload", "created_at")
        .iterator()
    ):
        evidence[(payload.get("opportunity_id"), topic)].append((created_at, payload))
    lags = []
    for deal, topic, condition, done_at in manual:
        events = evidence.get((deal, topic), [])
        before = events[: bisect_right([at for at, _ in events], done_at)]
        first = next((at for at, payload in before if condition_holds(condition, payload)), None)
        if first is not None:
            lags.append(done_at - first)
    return lags
