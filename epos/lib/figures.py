"""The counter that tells cached figures (metrics.cache) that the data under them changed.

The figures' cache key names the newest transition, ESAT answer and opportunity ids, which
shows a move, a new deal or an answer at once. Writes those ids do not show (an amount edited, a
deal or an account deleted, a segment changed, a quota set) bump this counter after they commit.
It lives here, below the domain apps, so their services can bump it without importing metrics.
"""

from django.core.cache import cache
from django.db import transaction

from epos.lib.counters import cache_count

BUMP_KEY = "metrics:bump"


def figures_changed() -> None:
    """Bump now: every cached figure is of an older generation from here on."""
    cache_count(BUMP_KEY, timeout=None)


def figures_changed_on_commit() -> None:
    """Bump once the caller's transaction commits (a rolled-back write changes nothing)."""
    transaction.on_commit(figures_changed)


def figures_generation() -> int:
    return cache.get(BUMP_KEY, 0)
