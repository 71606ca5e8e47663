"""In-process API scenarios: server time through django.test.Client (the whole middleware and
DRF stack, no socket), queries counted with CaptureQueriesContext on separate requests so the
capture does not slow the timed ones."""

from __future__ import annotations

import json

from django.db import connection, reset_queries
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from bench.context import BenchContext, Shuttle
from bench.registry import latency_summary, measure, scenario
from opportunities.models import Opportunity

LIST_URL = "/api/v1/opportunities/"
LIST_TARGET_MS = 40.0
MOVE_TARGET_MS = 15.0
WARM_UP = 20
LIST_REPEAT = 150
MOVE_REPEAT = 300
MOVE_SHUTTLES = 30


def _timed_get(client, url: str) -> tuple[float, float, object]:
    wall, cpu, response = measure(lambda: client.get(url))
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.content[:300]!r}")
    return wall, cpu, response


def _count_queries(send) -> int:
    reset_queries()  # a full query log (9,000) would make captures count none
    with CaptureQueriesContext(connection) as captured:
        send()
    return len(captured.captured_queries)


def list_query_counts(ctx: BenchContext) -> dict[str, dict[str, int]]:
    """Queries per list request, grouped by request shape; within a group only the number of
    rows differs (page, page size, a small or a large account), so an N+1 shows up as unequal
    counts in a group."""
    admin = ctx.client(ctx.admin)
    sa = ctx.client(ctx.sas()[0])
    per_account = (
        Opportunity.objects.exclude(account=None)
        .values("account_id")
        .annotate(deals=Count("pk"))
        .order_by("deals", "account_id")
    )
    smallest, largest = per_account.first(), per_account.last()
    groups = {
        "admin": {
            "page_1": (admin, f"{LIST_URL}?page_size=50"),
            "page_100": (admin, f"{LIST_URL}?page_size=50&page=100"),
            "page_size_200": (admin, f"{LIST_URL}?page_size=200"),
        },
        "admin_by_account": {
            "smallest_account": (
                admin,
                f"{LIST_URL}?page_size=50&account={smallest['account_id']}",
            ),
            "largest_account": (admin, f"{LIST_URL}?page_size=50&account={largest['account_id']}"),
        },
        "sa": {
            "page_1": (sa, f"{LIST_URL}?page_size=50"),
            "page_20": (sa, f"{LIST_URL}?page_size=50&page=20"),
            "page_size_200": (sa, f"{LIST_URL}?page_size=200"),
        },
    }
    counts: dict[str, dict[str, int]] = {}
    for group, cases in groups.items():
        for case, (client, url) in cases.items():
            if client.get(url).status_code == 404:
                continue  # a small dataset has fewer pages
            counts.setdefault(group, {})[case] = _count_queries(
                lambda c=client, u=url: _timed_get(c, u)
            )
    return counts


def queries_are_constant(counts: dict[str, dict[str, int]]) -> bool:
    return all(len(set(group.values())) == 1 for group in counts.values())


@scenario(
    "opportunities_list_api",
    target=f"p50 ≤ {LIST_TARGET_MS:.0f} ms in every variant; same query count at any size",
)
def opportunities_list_api(ctx: BenchContext) -> dict:
    admin, sa = ctx.client(ctx.admin), ctx.client(ctx.sas()[0])
    variants = {
        "admin ?page_size=50": (admin, f"{LIST_URL}?page_size=50"),
        "admin ?outcome=open&use_case=observability": (
            admin,
            f"{LIST_URL}?page_size=50&outcome=open&use_case=observability",
        ),
        "admin ?page=100": (admin, f"{LIST_URL}?page_size=50&page=100"),
        "sa ?page_size=50": (sa, f"{LIST_URL}?page_size=50"),
        "sa ?outcome=open&use_case=observability": (
            sa,
            f"{LIST_URL}?page_size=50&outcome=open&use_case=observability",
        ),
    }
    results = {}
    for name, (client, url) in variants.items():
        if "page=100" in url and client.get(url).status_code == 404:
            continue
        for _ in range(WARM_UP):
            _timed_get(client, url)
        walls, cpus = [], []
        for _ in range(LIST_REPEAT):
            wall, cpu, response = _timed_get(client, url)
            walls.append(wall)
            cpus.append(cpu)
        body = json.loads(response.content)
        results[name] = latency_summary(walls, cpus) | {
            "rows": len(body["results"]),
            "total": body["count"],
            "queries": _count_queries(lambda c=client, u=url: _timed_get(c, u)),
        }
    counts = list_query_counts(ctx)
    constant = queries_are_constant(counts)
    worst = max(results.values(), key=lambda summary: summary["p50_ms"])
    met = all(summary["p50_ms"] <= LIST_TARGET_MS for summary in results.values()) and constant
    return {
        "p50_ms": worst["p50_ms"],
        "cpu_p50_ms": worst["cpu_p50_ms"],
        "p95_ms": max(summary["p95_ms"] for summary in results.values()),
        "queries": counts["admin"]["page_1"],
        "n": sum(summary["n"] for summary in results.values()),
        "met": met,
        "summary": "worst variant; queries "
        + ("constant" if constant else f"VARY {sorted(set(counts.values()))}"),
        "variants": results,
        "queries_by_case": counts,
        "queries_constant": constant,
    }


def _move(client, shuttle: Shuttle, to_stage: int) -> tuple[float, float, dict]:
    body = json.dumps({"stage": to_stage, "expected_version": shuttle.version})
    url = f"{LIST_URL}{shuttle.id}/move/"
    wall, cpu, response = measure(
        lambda: client.post(url, data=body, content_type="application/json")
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"POST {url} answered {response.status_code}: {response.content[:300]!r}"
        )
    data = json.loads(response.content)
    shuttle.version, shuttle.stage_id = data["version"], data["stage"]["id"]
    return wall, cpu, data


@scenario("move_api", target=f"p50 ≤ {MOVE_TARGET_MS:.0f} ms")
def move_api(ctx: BenchContext) -> dict:
    first, _ = ctx.stage_pair
    owner = ctx.sas()[0]
    shuttles = ctx.reserve_shuttles(count=MOVE_SHUTTLES, owner_id=owner.pk)
    if len(shuttles) < 2:
        raise RuntimeError("Not enough open deals in the move stages; regenerate the dataset.")
    client = ctx.client(owner)

    def one_round(index: int) -> tuple[str, float, float]:
        shuttle = shuttles[index % len(shuttles)]
        direction = "forward" if shuttle.stage_id == first.pk else "backward"
        wall, cpu, _ = _move(client, shuttle, ctx.other_stage(shuttle.stage_id))
        return direction, wall, cpu

    for index in range(WARM_UP):
        one_round(index)
    walls: dict[str, list[float]] = {"forward": [], "backward": []}
    cpus: dict[str, list[float]] = {"forward": [], "backward": []}
    for index in range(MOVE_REPEAT):
        direction, wall, cpu = one_round(index)
        walls[direction].append(wall)
        cpus[direction].append(cpu)
    # Both directions on one deal, whichever stage it is in now.
    queries = {}
    probe = shuttles[0]
    for _ in range(2):
        direction = "forward" if probe.stage_id == first.pk else "backward"
        queries[direction] = _count_queries(
            lambda: _move(client, probe, ctx.other_stage(probe.stage_id))
        )
    overall = latency_summary(
        walls["forward"] + walls["backward"], cpus["forward"] + cpus["backward"]
    )
    return overall | {
        "queries": max(queries.values()),
        "queries_by_direction": queries,
        "met": overall["p50_ms"] <= MOVE_TARGET_MS,
        "forward": latency_summary(walls["forward"], cpus["forward"]),
        "backward": latency_summary(walls["backward"], cpus["backward"]),
        "deals": len(shuttles),
        "stages": [stage.name for stage in ctx.stage_pair],
        "summary": f"{ctx.stage_pair[0].name} ⇄ {ctx.stage_pair[1].name}, as the owning SA",
    }
