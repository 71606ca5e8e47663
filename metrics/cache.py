"""Metric results cached under a generation key (CONVENTIONS 8).

The key of a result names the data it was computed from: the newest stage transition, ESAT
answer and opportunity ids (read in one query of three index lookups per request), plus a
counter that services bump for the writes those ids do not show (a quota set, an amount
edited, a deal deleted). A move, a new deal or an answer therefore shows at once; the time limit
(`METRICS_CACHE_SECONDS`, default 300; 0 turns the cache off) bounds what a write that bumps
nothing could leave stale.

Results are per scope: the same filters and period, seen by the same user (or by anyone who
sees everything, admins and curators, who share them).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Model

from opportunities.models import EsatResponse, Opportunity, StageTransition

DEFAULT_SECONDS = 300
BUMP_KEY = "metrics:bump"
VERSION = "v1"  # change when the shape of a cached result changes


def cache_seconds() -> int:
    return int(getattr(settings, "METRICS_CACHE_SECONDS", DEFAULT_SECONDS))


def cache_bump() -> None:
    """Make every cached metric stale (after a write the generation ids do not reflect)."""
    try:
        cache.incr(BUMP_KEY)
    except ValueError:
        cache.set(BUMP_KEY, 1, None)


def generation(memo: dict) -> str:
    """Read once per scope (so once per request), whatever the number of metrics."""
    if "generation" not in memo:
        tables = [
            connection.ops.quote_name(model._meta.db_table)
            for model in (StageTransition, EsatResponse, Opportunity)
        ]
        subqueries = [f"(SELECT MAX(id) FROM {table})" for table in tables]  # noqa: S608
        sql = "SELECT " + ", ".join(subqueries)
        with connection.cursor() as cursor:
            cursor.execute(sql)
            ids = cursor.fetchone()
        memo["generation"] = "-".join(str(value or 0) for value in ids) + (
            f"-{cache.get(BUMP_KEY, 0)}"
        )
    return memo["generation"]


def _plain(value):
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def digest(value) -> str:
    text = json.dumps(_plain(value), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached(name: str) -> Callable:
    """Cache a selector called as `selector(scope=..., **arguments)`."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*, scope, **arguments):
            seconds = cache_seconds()
            if not seconds or scope.key is None:
                return function(scope=scope, **arguments)
            key = ":".join(
                (
                    "metrics",
                    VERSION,
                    generation(scope.memo),
                    name,
                    scope.key,
                    digest({k: _plain(v) for k, v in sorted(arguments.items())}),
                )
            )
            result = cache.get(key)
            if result is None:
                result = function(scope=scope, **arguments)
                cache.set(key, result, seconds)
            return result

        return wrapper

    return decorate
