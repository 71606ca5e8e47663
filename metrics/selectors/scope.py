"""Which opportunities a metric looks at, and the period: `Period`, `Scope`, `metric_scope`.

A scope also names its results in the metrics cache (metrics/cache.py). A selector decorated
with `cached` keeps its result per `Scope.key` under a generation: the newest stage transition,
ESAT answer and opportunity ids, plus the counter of `epos.lib.figures`. The services whose
writes those ids do not show (deal and account edits and deletes, ESAT edits, quotas, relinked
transitions) bump that counter through `epos.lib.figures.figures_changed_on_commit`, once their
transaction commits; `metrics.cache.cache_bump` bumps it at once and only the bench calls it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from epos.lib.errors import InvalidInput
from metrics.cache import digest
from metrics.filters import MetricsFilter
from opportunities import permissions as opportunity_permissions
from opportunities.models import Team
from opportunities.selectors import opportunity_list
from stages.models import Process


@dataclass(frozen=True)
class Period:
    start: datetime | None = None
    end: datetime | None = None

    def q(self, field_name: str) -> Q:
        condition = Q()
        if self.start is not None:
            condition &= Q(**{f"{field_name}__gte": self.start})
        if self.end is not None:
            condition &= Q(**{f"{field_name}__lt": self.end})
        return condition

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def last_day(self) -> date | None:
        """The last day inside the period (its end is exclusive)."""
        if self.end is None:
            return None
        return timezone.localdate(self.end - timedelta(microseconds=1))

    @classmethod
    def of_dates(cls, first: date | None, last: date | None) -> Period:
        """Whole days `first` to `last`, both included, in the current time zone."""

        def midnight(day):
            return timezone.make_aware(datetime.combine(day, time.min))

        # The last day of the calendar has no next midnight: such a period has no end.
        return cls(
            start=midnight(first) if first else None,
            end=midnight(last + timedelta(days=1)) if last and last < date.max else None,
        )


@dataclass(frozen=True)
class Scope:
    """The opportunities a metric looks at (visible to the user, filtered) and the period."""

    user: object
    opportunities: QuerySet
    period: Period = field(default_factory=Period)
    process: Process | None = None
    team: Team | None = None
    # Names the scope in cache keys (filters, period, and whose visibility); None: no caching.
    key: str | None = None
    # False only when `opportunities` is every deal of `process` (someone who sees everything,
    # no filter but the process and the period). Stage metrics then read the transitions into
    # the process's stages alone: a deal never changes process, so those are its deals' rows.
    narrowed: bool = True
    # May cached results of an older generation be served (metrics/cache.py)? The page that
    # allows it queues their refresh; everything else computes what is missing.
    allow_stale: bool = False
    memo: dict = field(default_factory=dict, compare=False)


def metric_scope(*, user, params: Mapping, allow_stale: bool = False) -> Scope:
    """Apply the opportunity list's visibility and filters; `closed_after/before` is the period."""
    filterset = MetricsFilter(data=params, queryset=opportunity_list(user=user))
    if not filterset.is_valid():
        raise InvalidInput(
            "Invalid filter.",
            errors={name: [str(e) for e in errs] for name, errs in filterset.errors.items()},
        )
    cleaned = filterset.form.cleaned_data
    period = Period(start=cleaned.get("closed_after"), end=cleaned.get("closed_before"))
    if period.start and period.end and period.end <= period.start:
        raise InvalidInput("The period ends before it starts.", errors={"closed_before": []})
    sees_everything = opportunity_permissions.opportunity_visibility_q(user) is None
    filters = {name: value for name, value in cleaned.items() if value not in (None, "", [])}
    whole_process = (
        sees_everything
        and "process" in filters
        and set(filters) <= {"process", "closed_after", "closed_before"}
    )
    return Scope(
        user=user,
        opportunities=filterset.qs.order_by(),
        period=period,
        process=cleaned.get("process"),
        team=cleaned.get("team"),
        key=digest(["everything" if sees_everything else f"user-{user.pk}", filters]),
        narrowed=not whole_process,
        allow_stale=allow_stale,
    )


def opportunity_ids(scope: Scope) -> QuerySet:
    """The ids of the scope's opportunities, for a subquery."""
    return scope.opportunities.order_by().values("pk")
