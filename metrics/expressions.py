"""Database expressions the metric selectors are built from, with one SQL form per backend."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import NotSupportedError, connection
from django.db.models import Aggregate, FloatField


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
