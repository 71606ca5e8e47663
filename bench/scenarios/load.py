"""Scenarios against a real gunicorn: sustained concurrent moves, then the workers' memory."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from bench.context import BenchContext, Shuttle
from bench.registry import latency_summary, scenario
from bench.server import process_cpu_seconds
from epos.models import OutboxMessage
from opportunities.models import StageTransition

MOVES_TARGET_PER_S = 200.0
RSS_TARGET_MB = 150.0
DEALS_PER_CLIENT = 40
WARM_UP_MOVES_PER_CLIENT = 5
REQUEST_TIMEOUT_S = 10.0
# However fast the server, a client stops after this many moves per second of window.
MAX_MOVES_PER_CLIENT_PER_S = 2_000


@dataclass
class _ClientRun:
    """One load client: an SA moving only their own deals, through one keep-alive connection
    (gunicorn's sync workers close it after each response; http.client then reconnects)."""

    address: tuple[str, int]
    api_key: str
    shuttles: list[Shuttle]
    first_stage_id: int
    second_stage_id: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ok: int = 0
    finished_at: float = 0.0

    def __post_init__(self):
        self.connection = http.client.HTTPConnection(*self.address, timeout=REQUEST_TIMEOUT_S)
        self.headers = {
            "Authorization": f"Token {self.api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def move(self, shuttle: Shuttle, *, record: bool) -> None:
        target = (
            self.second_stage_id if shuttle.stage_id == self.first_stage_id else self.first_stage_id
        )
        body = json.dumps({"stage": target, "expected_version": shuttle.version})
        started = time.perf_counter()
        try:
            self.connection.request(
                "POST", f"/api/v1/opportunities/{shuttle.id}/move/", body=body, headers=self.headers
            )
            response = self.connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.connection.close()
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            self.errors.append(f"{response.status}: {payload[:200]!r}")
            if response.status == 409:
                # Resynchronise with the server so one conflict does not cascade.
                try:
                    current = json.loads(payload).get("current_version")
                except ValueError:
                    current = None
                if current:
                    shuttle.version = current
            return
        data = json.loads(payload)
        shuttle.version, shuttle.stage_id = data["version"], data["stage"]["id"]
        if record:
            self.ok += 1
            self.latencies_ms.append(elapsed)

    def run(self, start: threading.Barrier, deadline_after: float, max_moves: int) -> None:
        start.wait()
        deadline = time.monotonic() + deadline_after
        index = 0
        while index < max_moves and time.monotonic() < deadline:
            self.move(self.shuttles[index % len(self.shuttles)], record=True)
            index += 1
        self.finished_at = time.monotonic()
        self.connection.close()


def _run_load(ctx: BenchContext, duration: float) -> dict:
    server = ctx.server()
    first, second = ctx.stage_pair
    runs = []
    assigned = ctx.shared.setdefault("load_shuttles", {})
    for sa in ctx.sas()[: ctx.clients]:
        if sa.pk not in assigned:
            assigned[sa.pk] = ctx.reserve_shuttles(count=DEALS_PER_CLIENT, owner_id=sa.pk)
        shuttles = assigned[sa.pk]
        if shuttles:
            runs.append(_ClientRun(server.address, ctx.api_key(sa), shuttles, first.pk, second.pk))
    if len(runs) < ctx.clients:
        raise RuntimeError(
            f"Only {len(runs)} SAs have deals to move; need {ctx.clients}. Regenerate the dataset."
        )
    # Warm every worker (imports, connections, caches) before the window opens.
    for run in runs:
        for shuttle in run.shuttles[:WARM_UP_MOVES_PER_CLIENT]:
            run.move(shuttle, record=False)
    warm_up_errors = [error for run in runs for error in run.errors]
    for run in runs:
        run.errors.clear()

    transitions_before = StageTransition.objects.count()
    outbox_before = OutboxMessage.objects.count()
    cpu_before = _cpu_snapshot(server)
    log_offset = server.access_log_offset()
    barrier = threading.Barrier(len(runs) + 1)
    max_moves = int(MAX_MOVES_PER_CLIENT_PER_S * duration)
    threads = [
        threading.Thread(target=run.run, args=(barrier, duration, max_moves), daemon=True)
        for run in runs
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    opened = time.monotonic()
    for thread in threads:
        thread.join(timeout=duration + REQUEST_TIMEOUT_S + 30)
    stuck = sum(thread.is_alive() for thread in threads)
    window = max(run.finished_at for run in runs) - opened
    cpu = _cpu_per_move(cpu_before, _cpu_snapshot(server), sum(run.ok for run in runs))
    # Access log lines are written after the response; give the workers a moment to flush.
    time.sleep(0.5)
    service = server.service_times_ms(log_offset, path_contains="/move/")
    transitions_written = StageTransition.objects.count() - transitions_before
    outbox_written = OutboxMessage.objects.count() - outbox_before

    latencies = [value for run in runs for value in run.latencies_ms]
    errors = [error for run in runs for error in run.errors]
    ok = sum(run.ok for run in runs)
    ctx.load_ran = True
    return {
        "window_s": round(window, 2),
        "clients": len(runs),
        "deals": sum(len(run.shuttles) for run in runs),
        "moves_ok": ok,
        "moves_per_s": round(ok / window, 1) if window > 0 else 0.0,
        "errors": len(errors) + stuck,
        "error_samples": errors[:5],
        "stuck_clients": stuck,
        "warm_up_errors": len(warm_up_errors),
        "transitions_written": transitions_written,
        "transitions_match": transitions_written == ok,
        "outbox_written": outbox_written,
        "latency": latency_summary(latencies),
        "worker_service_time": latency_summary(service),
        "cpu_ms_per_move": cpu,
        # If the machine did nothing else: cores × 1000 ms / CPU ms one move costs.
        "cpu_bound_ceiling_moves_per_s": (
            round((os.cpu_count() or 1) * 1000 / cpu["total"]) if cpu.get("total") else None
        ),
    }


def _postmaster_pid() -> int | None:
    """The PostgreSQL server's main process: the parent of this connection's backend (None when
    the server runs on another machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    try:
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _database_cpu_seconds(postmaster: int | None) -> float:
    """CPU used so far by the whole PostgreSQL server: its processes alive now (backends, WAL
    writer, checkpointer...) and, through the postmaster's children's times, those that
    exited, such as the backend of a gunicorn worker recycled mid-window, which a sum over
    the live backends alone would miss."""
    if postmaster is None:
        return 0.0
    total = process_cpu_seconds(postmaster) + process_cpu_seconds(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == postmaster:
            total += process_cpu_seconds(int(entry.name))
    return total


def _cpu_snapshot(server) -> dict:
    postmaster = _postmaster_pid()
    return {
        "app": server.cpu_seconds(),
        "database": _database_cpu_seconds(postmaster),
        "clients": time.process_time(),
    }


def _cpu_per_move(before: dict, after: dict, moves: int) -> dict:
    """CPU milliseconds per answered move, by process kind: what the window cost the machine,
    whoever else was using it (the database figure is the whole PostgreSQL server's)."""
    if not moves:
        return {}
    database = after["database"] - before["database"]
    per_move = {
        "gunicorn": (after["app"] - before["app"]) * 1000 / moves,
        "postgres": database * 1000 / moves,
        "load_clients": (after["clients"] - before["clients"]) * 1000 / moves,
    }
    per_move["total"] = sum(per_move.values())
    return {name: round(value, 2) for name, value in per_move.items()}


@scenario(
    "sustained_moves_gunicorn",
    target=f"≥ {MOVES_TARGET_PER_S:.0f} moves/s, 0 errors, transitions == 200 answers",
)
def sustained_moves_gunicorn(ctx: BenchContext) -> dict:
    load = _run_load(ctx, ctx.duration)
    met = (
        load["moves_per_s"] >= MOVES_TARGET_PER_S
        and load["errors"] == 0
        and load["transitions_match"]
    )
    return {
        "p50_ms": load["latency"]["p50_ms"],
        "p95_ms": load["latency"]["p95_ms"],
        "queries": None,
        "n": load["moves_ok"],
        "met": met,
        "summary": (
            f"{load['moves_per_s']:.0f} moves/s, {load['errors']} errors, "
            f"{load['transitions_written']} transitions for {load['moves_ok']} OKs, "
            f"CPU {load['cpu_ms_per_move'].get('total', 0):.1f} ms/move "
            f"(ceiling {load['cpu_bound_ceiling_moves_per_s']}/s)"
        ),
        "workers": ctx.workers,
        "broker": ctx.broker_url,
        **load,
    }


@scenario("web_worker_rss", target=f"every worker ≤ {RSS_TARGET_MB:.0f} MB RSS after the load")
def web_worker_rss(ctx: BenchContext) -> dict:
    note = None
    if not ctx.load_ran:
        # Memory right after start-up says little; put some load through the workers first.
        brief = min(ctx.duration, 10.0)
        _run_load(ctx, brief)
        note = f"ran {brief:.0f}s of sustained moves first"
    server = ctx.server()
    workers = {pid: server.rss_mb(pid) for pid in server.worker_pids()}
    sizes = [size for size in workers.values() if size is not None]
    largest = max(sizes) if sizes else None
    return {
        "p50_ms": None,
        "p95_ms": None,
        "queries": None,
        "n": len(sizes),
        "met": largest is not None and largest <= RSS_TARGET_MB and len(sizes) == ctx.workers,
        "summary": f"max {largest} MB over {len(sizes)} workers" if sizes else "no workers found",
        "rss_mb": {str(pid): size for pid, size in workers.items()},
        "max_rss_mb": largest,
        "master_rss_mb": server.rss_mb(server.process.pid),
        "note": note,
    }
