"""The scenario registry: a later issue adds a scenario by decorating one function.

    @scenario("board_html", target="p50 ≤ 60 ms")
    def board_html(ctx: BenchContext) -> dict:
        timings = [...]
        return latency_summary(timings) | {"queries": ..., "met": ..., "summary": "..."}

A scenario returns a dict with p50_ms, p95_ms, queries, n and met (missing ones become None)
and may add a one-line "summary" for the table; `bench.run` adds the target. Everything else it
returns is written to results.json as is. Shared state (users, API keys, deals to move, the
gunicorn server) comes from `bench.context.BenchContext`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

REQUIRED_KEYS = ("p50_ms", "p95_ms", "queries", "n", "target", "met")


@dataclass(frozen=True)
class Scenario:
    name: str
    target: str
    function: Callable[..., dict]


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, *, target: str):
    def register(function: Callable[..., dict]) -> Callable[..., dict]:
        if name in SCENARIOS:
            raise ValueError(f"Scenario {name!r} is registered twice")
        SCENARIOS[name] = Scenario(name=name, target=target, function=function)
        return function

    return register


def selected(only: list[str] | None) -> list[Scenario]:
    if not only:
        return list(SCENARIOS.values())
    unknown = [name for name in only if name not in SCENARIOS]
    if unknown:
        raise SystemExit(
            f"Unknown scenario(s): {', '.join(unknown)}. Known: {', '.join(SCENARIOS)}"
        )
    return [SCENARIOS[name] for name in only]


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * share
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def measure(call: Callable[[], object]) -> tuple[float, float, object]:
    """(wall ms, this thread's CPU ms, result). CPU time is the Python side alone: it hardly
    moves when other processes crowd the machine, while wall time does."""
    wall, cpu = time.perf_counter(), time.thread_time()
    result = call()
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000, result


def latency_summary(milliseconds: list[float], cpu_milliseconds: list[float] | None = None) -> dict:
    def rounded(value):
        return None if value is None else round(value, 2)

    summary = {
        "n": len(milliseconds),
        "p50_ms": rounded(percentile(milliseconds, 0.50)),
        "p95_ms": rounded(percentile(milliseconds, 0.95)),
        "mean_ms": rounded(statistics.fmean(milliseconds)) if milliseconds else None,
        "max_ms": rounded(max(milliseconds)) if milliseconds else None,
    }
    if cpu_milliseconds is not None:
        summary["cpu_p50_ms"] = rounded(percentile(cpu_milliseconds, 0.50))
    return summary


def complete(result: dict, *, target: str) -> dict:
    """Fill the keys every result carries, so the table and results.json stay uniform."""
    result = {key: result.get(key) for key in REQUIRED_KEYS} | result
    result["target"] = target
    return result
