"""What the metric selectors share: the outcomes, the amount type, and how figures come out.

Percentiles: PostgreSQL computes them with `percentile_cont` (metrics.expressions). SQLite has no
ordered-set aggregate, so there they come from the one fetched column of durations through
`percentiles_of`, interpolated by numpy the same way (linear between the closest ranks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from django.db.models import DecimalField

from opportunities.models import Opportunity

WON, LOST, QUALIFIED_OUT, OPEN = (
    Opportunity.Outcome.WON,
    Opportunity.Outcome.LOST,
    Opportunity.Outcome.QUALIFIED_OUT,
    Opportunity.Outcome.OPEN,
)
PERCENTILES = (0.5, 0.9)
AMOUNT = DecimalField(max_digits=20, decimal_places=4)


def percentiles_of(values: Iterable[float], fractions: Sequence[float] = PERCENTILES) -> list:
    """numpy's linear interpolation (the same as percentile_cont); Nones for no values."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return [None] * len(fractions)
    return [float(v) for v in np.percentile(array, [f * 100 for f in fractions], method="linear")]


def money(value) -> float | None:
    """An amount as a float rounded to cents; None stays None."""
    return None if value is None else round(float(value), 2)


def optional_float(value) -> float | None:
    return None if value is None else float(value)


def split_percentiles(value) -> tuple[float | None, float | None]:
    if not value:
        return None, None
    return optional_float(value[0]), optional_float(value[1])


def full_name(row: Mapping, prefix: str) -> str:
    """A user's name from a `values()` row of `<prefix>__first_name`, `__last_name`..."""
    name = f"{row.get(prefix + '__first_name') or ''} {row.get(prefix + '__last_name') or ''}"
    return name.strip() or row.get(prefix + "__username") or ""
