"""Bench: the opportunity list and its CSV export.

`list_html`: server time of /opportunities/ through django.test.Client (middleware, FilterSet,
template) for an admin who sees every deal and a manager who sees their teams', in the default
order and sorted by the columns that cost the most (owner names, stage, amount, name), with any
outcome; its query count, which must not change with the sort. Target: p50 ≤ 150 ms, ≤ 10
queries.

`list_export`: the streamed CSV of a manager's whole list (every outcome), start to last byte,
reported with its rows per second. Target: ≥ 20,000 rows/s.

Registered by importing this module (bench/scenarios/__init__.py).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from bench.board import _client, _ensure_static_collected
from bench.context import BenchContext
from bench.registry import latency_summary, measure, scenario
from opportunities import selectors

LIST_TARGET_MS = 150.0
LIST_MAX_QUERIES = 10
EXPORT_MIN_ROWS_PER_S = 20_000
WARM_UP = 5
REPEAT = 30
EXPORTS = 5
URL = "/opportunities/"
EXPORT_URL = "/opportunities/export.csv"
SORTS = ("", "owner", "-stage", "-amount", "name")


def _manager():
    return (
        get_user_model()
        .objects.filter(username__contains="manager", managed_teams__isnull=False)
        .order_by("username")
        .first()
    )


@scenario(
    "list_html",
    target=f"p50 ≤ {LIST_TARGET_MS:.0f} ms sorted by any column, ≤ {LIST_MAX_QUERIES} queries",
)
def list_html(ctx: BenchContext) -> dict:
    _ensure_static_collected()
    people = {"admin": ctx.admin}
    manager = _manager()
    if manager is not None:
        people["manager"] = manager
    results = {}
    for who, user in people.items():
        client = _client(user)
        total = selectors.opportunity_list(user=user).count()  # every outcome
        for sort in SORTS:
            query = {"outcome": "all", **({"sort": sort} if sort else {})}
            for _ in range(WARM_UP):
                client.get(URL, query)
            walls, cpus = [], []
            for _ in range(REPEAT):
                wall, cpu, response = measure(lambda c=client, q=query: c.get(URL, q))
                if response.status_code != 200:
                    raise RuntimeError(f"GET {URL} {query} answered {response.status_code}")
                walls.append(wall)
                cpus.append(cpu)
            reset_queries()
            with CaptureQueriesContext(connection) as captured:
                html = client.get(URL, query).content
            results[f"{who} sort={sort or 'default'}"] = latency_summary(walls, cpus) | {
                "queries": len(captured.captured_queries),
                "rows": html.count(b"<tr data-opportunity-id="),
                "total": total,
            }
    worst = max(results.values(), key=lambda summary: summary["p50_ms"])
    queries = {summary["queries"] for summary in results.values()}
    met = all(s["p50_ms"] <= LIST_TARGET_MS for s in results.values()) and (
        max(queries) <= LIST_MAX_QUERIES
    )
    return {
        "p50_ms": worst["p50_ms"],
        "cpu_p50_ms": worst.get("cpu_p50_ms"),
        "p95_ms": max(summary["p95_ms"] for summary in results.values()),
        "queries": max(queries),
        "n": sum(summary["n"] for summary in results.values()),
        "met": met,
        "summary": f"worst of {len(results)} (person, sort); queries {sorted(queries)}",
        "variants": results,
    }


@scenario("list_export", target=f"≥ {EXPORT_MIN_ROWS_PER_S:,} rows/s streamed")
def list_export(ctx: BenchContext) -> dict:
    user = _manager() or ctx.admin
    client = _client(user)
    walls, rows = [], 0
    for _ in range(EXPORTS):
        wall, _cpu, lines = measure(
            lambda: sum(
                chunk.count(b"\r\n")
                for chunk in client.get(EXPORT_URL, {"outcome": "all"}).streaming_content
            )
        )
        walls.append(wall)
        rows = lines - 1  # the header
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        b"".join(client.get(EXPORT_URL, {"outcome": "all"}).streaming_content)
    summary = latency_summary(walls)
    rate = rows / (summary["p50_ms"] / 1000) if summary["p50_ms"] else 0
    return summary | {
        "queries": len(captured.captured_queries),
        "rows": rows,
        "rows_per_s": round(rate),
        "met": rate >= EXPORT_MIN_ROWS_PER_S,
        "summary": f"{rows:,} rows of {user.username}'s list, {rate:,.0f} rows/s",
    }
