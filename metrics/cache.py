"""Metric results cached under a generation key (CONVENTIONS 8).

The key of a result names the data it was computed from: the newest stage transition, ESAT
answer and opportunity ids (read in one query of three index lookups per request), plus a
counter (epos.lib.figures) for the writes those ids do not show (a quota set, an amount edited, a
deal or account deleted): the services that make them call `figures_changed_on_commit`, which
bumps it once their transaction commits. A move, a new deal or an answer therefore shows at
once; the time limit (`METRICS_CACHE_SECONDS`, default 300; 0 turns the cache off) bounds what a
write that bumps nothing could leave stale. When many requests miss the same figure at once, one
computes it and the others serve the last figures or wait for the new ones.

Results are per scope: the same filters and period, seen by the same user (or by anyone who
sees everything, admins and curators, who share them).

Stale while revalidate: one entry per selector and scope holds the generation it was computed
at. A scope that allows it (the dashboard page, when a Celery worker runs) is served an entry of
an older generation at once, marked stale in `scope.memo`, and the page asks a worker to compute
the new figures (`metrics.dashboard.refresh_later`); a scope that does not (the API, exports,
a first view) computes them there and then.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import date, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Model

from epos.lib.figures import figures_changed, figures_generation
from opportunities.models import EsatResponse, Opportunity, StageTransition

DEFAULT_SECONDS = 300
VERSION = "v2"  # change when the shape of a cached result changes
REFRESH_KEY = "metrics:refreshing:{}"
REFRESH_CLAIM_SECONDS = 120  # at most one refresh per scope queued in that time
# One request computes a missing figure; the others wait up to COMPUTE_WAIT for it, then compute
# it themselves (the one computing may have died). The lock outlives no computation by much.
COMPUTE_LOCK_SECONDS = 30
COMPUTE_WAIT_SECONDS = 10.0
COMPUTE_POLL_SECONDS = 0.05


def cache_seconds() -> int:
    return int(getattr(settings, "METRICS_CACHE_SECONDS", DEFAULT_SECONDS))


def cache_bump() -> None:
    """Make every cached metric stale now. No service calls this: they bump the same counter
    through `epos.lib.figures.figures_changed_on_commit`, after their transaction commits. The
    bench calls it to measure cold figures."""
    figures_changed()


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
            f"-{figures_generation()}"
        )
    return memo["generation"]


def prime(scope) -> None:
    """Read the scope's generation now, when the cache is on (before threads share the scope)."""
    if cache_seconds() and scope.key is not None:
        generation(scope.memo)


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


_served_lock = threading.Lock()


def _note_served(memo: dict, computed_at: float) -> None:
    """The oldest result served for this scope: what the page says its figures are as of."""
    with _served_lock:  # selectors of one scope may run side by side (metrics.lanes)
        memo["as_of"] = min(memo.get("as_of", computed_at), computed_at)


def _serve(scope, entry: dict, current: str):
    if entry["generation"] != current:
        scope.memo["stale"] = True
    _note_served(scope.memo, entry["at"])
    return entry["value"]


def _wait_for(key: str, current: str) -> dict | None:
    """The entry another request is computing, once it is there; None after COMPUTE_WAIT."""
    deadline = time.monotonic() + COMPUTE_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(COMPUTE_POLL_SECONDS)
        entry = cache.get(key)
        if entry is not None and entry["generation"] == current:
            return entry
    return None


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
                    name,
                    scope.key,
                    digest({k: _plain(v) for k, v in sorted(arguments.items())}),
                )
            )
            current = generation(scope.memo)
            entry = cache.get(key)
            if entry is not None and (entry["generation"] == current or scope.allow_stale):
                return _serve(scope, entry, current)
            # Many requests may miss at once (a busy dashboard after a change): one computes,
            # the others serve the last figures if there are any, or wait for the new ones.
            lock = f"{key}:computing"
            if not cache.add(lock, 1, COMPUTE_LOCK_SECONDS):
                if entry is not None:
                    return _serve(scope, entry, current)
                waited = _wait_for(key, current)
                if waited is not None:
                    return _serve(scope, waited, current)
            try:
                value = function(scope=scope, **arguments)
                computed_at = time.time()
                cache.set(key, {"generation": current, "at": computed_at, "value": value}, seconds)
            finally:
                cache.delete(lock)
            _note_served(scope.memo, computed_at)
            return value

        return wrapper

    return decorate


def refresh_claim(scope_key: str) -> bool:
    """True for the first caller in REFRESH_CLAIM_SECONDS: it queues the refresh."""
    return bool(cache.add(REFRESH_KEY.format(scope_key), 1, REFRESH_CLAIM_SECONDS))


def refresh_release(scope_key: str) -> None:
    cache.delete(REFRESH_KEY.format(scope_key))


def refresh_pending(scope_key: str) -> bool:
    return cache.get(REFRESH_KEY.format(scope_key)) is not None
