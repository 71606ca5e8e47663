"""Database expressions the metric selectors are built from, with one SQL form per backend."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import NotSupportedError, connection
from django.db.models import Aggregate, FloatField, Func

SECONDS_PER_DAY = 86400


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


class PercentilesCont(Aggregate):
    """PostgreSQL `percentile_cont(ARRAY[...]) WITHIN GROUP (ORDER BY expr)`: linear interpolation
    between the two closest ranks, the same as numpy.percentile's default method.

    All fractions come from one sort of the input, so median and p90 cost a single ordering.
    SQLite has no ordered-set aggregates; the selectors use `percentiles_of` on the fetched
    column there instead (see `supports_percentile_aggregate`).
    """

    function = "percentile_cont"
    template = (
        "%(function)s(ARRAY[%(fractions)s]::double precision[]) "
        "WITHIN GROUP (ORDER BY %(expressions)s)"
    )
    allow_distinct = False

    def __init__(self, expression, fractions: Sequence[float], **extra):
        fractions = [float(fraction) for fraction in fractions]
        if not fractions or not all(0.0 <= fraction <= 1.0 for fraction in fractions):
            raise ValueError("Percentile fractions lie between 0 and 1.")
        from django.contrib.postgres.fields import ArrayField

        super().__init__(
            expression,
            fractions=", ".join(repr(fraction) for fraction in fractions),
            output_field=ArrayField(FloatField()),
            **extra,
        )

    def as_sql(self, compiler, connection, **extra_context):
        if connection.vendor != "postgresql":
            raise NotSupportedError("percentile_cont is PostgreSQL only; use percentiles_of.")
        return super().as_sql(compiler, connection, **extra_context)


def supports_percentile_aggregate() -> bool:
    return connection.vendor == "postgresql"
