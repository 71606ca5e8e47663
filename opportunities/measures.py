"""The metric definitions every app computes from, written once: the dashboards (metrics), a
building block's effectiveness (building_blocks) and the pilots all use these expressions.

- MTTC (mean time to close) of a won deal: `closed_at − engaged_at` in days (`mttc_duration`);
  only deals whose clock started count (`CLOCKED`).
- Win rate: won / (won + lost); qualified-out deals count in neither (`win_rate`).
- A stay in a stage: `left_at − moved_at` of its transition (`visit_length`).
- Weighted amount of open deals: amount × the stage's probability / 100 (`weighted_amount`).
- Past target: a stay still going on that began more than the stage's `target_days` before
  now (`past_target_q`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import NotSupportedError
from django.db.models import Case, DateTimeField, F, FloatField, Func, Q, Value, When

from opportunities.models import Opportunity
from stages.models import Stage

WON = Q(outcome=Opportunity.Outcome.WON)
LOST = Q(outcome=Opportunity.Outcome.LOST)
CLOCKED = Q(engaged_at__isnull=False)


SECONDS_PER_DAY = 86400


def weighted_amount(amount, probability):
    """What an open stage's amount is worth at its probability; unknown stays unknown."""
    if amount is None or probability is None:
        return None
    return amount * Decimal(probability) / 100


class DaysBetween(Func):
    """`(end - start)` in days as a float, exact to the microsecond on both backends.

    PostgreSQL subtracts timestamps into an interval and reads its seconds (as a float, which
    holds microseconds exactly for spans of centuries); SQLite stores
    datetimes as text, and Django's own `django_timestamp_diff` function turns two of them into
    integer microseconds.
    """

    arity = 2
    output_field = FloatField()

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            # date_part gives double precision directly; EXTRACT gives numeric (PostgreSQL
            # 14+), several times slower to compute and to sum over a whole table.
            template=f"(date_part('epoch', %(expressions)s) / {SECONDS_PER_DAY}.0)",
            arg_joiner=" - ",
            **extra_context,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template=f"(django_timestamp_diff(%(expressions)s) / {SECONDS_PER_DAY * 10**6}.0)",
            arg_joiner=", ",
            **extra_context,
        )

    def as_sql(self, compiler, connection, **extra_context):
        if "template" not in extra_context:
            raise NotSupportedError(f"DaysBetween has no SQL for {connection.vendor}.")
        return super().as_sql(compiler, connection, **extra_context)


def mttc_duration() -> DaysBetween:
    """A deal's time to close, in days (meaningful for won deals with a clock: `WON & CLOCKED`)."""
    return DaysBetween(F("closed_at"), F("engaged_at"))


def visit_length() -> DaysBetween:
    """How long a completed visit of a stage lasted, in days. On PostgreSQL the index
    `transition_stay_idx` (opportunities migration 0008) holds this very expression."""
    return DaysBetween(F("left_at"), F("moved_at"))


def past_target_q(
    stages: Iterable[Stage],
    now: datetime,
    *,
    stage_field: str = "to_stage_id",
    entered_field: str = "moved_at",
) -> Q | None:
    """A visit of a stage still going on is past the stage's target when it began more than
    `target_days` before `now`. None when no stage given has a target.

    The rule of every "past target" figure (the dashboards, the workload page, My day): the
    open visits of `time_in_stage` (a transition's `to_stage_id` and `moved_at`) and an open
    deal's current stage (`stage_id` and `stage_entered_at`, which its last transition set).
    The deadlines are literals, one per stage, so the planner sees plain timestamps.
    """
    deadlines = [
        When(**{stage_field: stage.pk}, then=Value(now - timedelta(days=stage.target_days)))
        for stage in stages
        if stage.target_days
    ]
    if not deadlines:
        return None
    deadline = Case(*deadlines, default=None, output_field=DateTimeField())
    return Q(**{f"{entered_field}__lt": deadline})


def ratio(part, whole) -> float | None:
    return None if not whole else part / whole


def win_rate(won: int, lost: int) -> float | None:
    return ratio(won, won + lost)
