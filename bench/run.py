"""`python -m bench.run`: generate (or reuse) the bench dataset, run the scenarios, print a
table and write bench/out/results.json.

    make bench
    make bench BENCH_ARGS="--only move_api,opportunities_list_api --scale 0.01"
    make bench BENCH_ARGS="--duration 10 --regenerate"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bench.config import DEFAULT_BROKER_URL, DEFAULT_DATABASE_URL, OUT


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated scenario names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="dataset size relative to 100,000 opportunities (0.01 gives 1,000)",
    )
    parser.add_argument("--regenerate", action="store_true", help="rebuild the dataset")
    parser.add_argument(
        "--duration", type=float, default=30.0, help="seconds of sustained load (default 30)"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent load clients")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--fail-on-miss", action="store_true", help="exit 1 when a target is missed"
    )
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else []
    if not 0 < args.duration <= 600:
        parser.error("--duration must be between 0 and 600 seconds")
    if not 1 <= args.clients <= 64 or not 1 <= args.workers <= 32:
        parser.error("--clients must be 1..64 and --workers 1..32")
    return args


def configure_environment() -> tuple[str, str]:
    """Settings the bench needs before Django starts; returns (database URL, broker URL)."""
    database_url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    broker_url = os.environ.setdefault("CELERY_BROKER_URL", DEFAULT_BROKER_URL)
    # As in production (docker-compose.yml): a cache the web processes and workers share, here
    # the broker's Redis database (no key clashes; purged with it at the end of the run).
    if broker_url.startswith(("redis://", "rediss://")):
        os.environ.setdefault("REDIS_CACHE_URL", broker_url)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    # Loopback only: the in-process client and gunicorn are both reached as 127.0.0.1 over
    # plain HTTP, as behind a TLS-terminating proxy.
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epos.settings")
    return database_url, broker_url


def ensure_database(url: str) -> str:
    """Create the bench database if it is missing; refuse anything that is not a bench DB.

    The generator empties tables, so a DATABASE_URL left over from `make run` must never reach
    it: the database name has to say "bench".
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"The bench needs PostgreSQL; DATABASE_URL is {parts.scheme}://...")
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"Refusing to use database {name!r}: the bench rewrites its data. Point DATABASE_URL "
            f"at a dedicated database whose name contains 'bench' (default {DEFAULT_DATABASE_URL})."
        )
    import psycopg2
    from psycopg2 import sql

    maintenance = psycopg2.connect(
        dbname="postgres",
        user=parts.username or None,
        password=parts.password or None,
        host=parts.hostname or None,
        port=parts.port or None,
        connect_timeout=5,
    )
    maintenance.autocommit = True
    try:
        with maintenance.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return f"using database {name}"
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return f"created database {name}"
    finally:
        maintenance.close()


def prepare_dataset(scale: float, regenerate: bool) -> dict:
    from django.core.management import call_command

    from bench import generate

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrate_seconds = time.perf_counter() - started
    targets = generate.Targets.for_scale(scale)
    if not regenerate and generate.dataset_matches(targets):
        print(
            f"Dataset present ({targets.opportunities:,} opportunities, "
            f"{targets.transitions:,} transitions); --regenerate rebuilds it."
        )
        return {"generated": False, "targets": targets.__dict__}
    print(
        f"Generating {targets.opportunities:,} opportunities, {targets.transitions:,} transitions"
    )
    started = time.perf_counter()
    generate.reset()
    print(f"  reset: {time.perf_counter() - started:.1f}s")
    report = generate.generate(scale=scale)
    mark = time.perf_counter()
    generate.vacuum_analyze()
    print(f"  vacuum analyze: {time.perf_counter() - mark:.1f}s")
    seconds = time.perf_counter() - started
    print(
        f"Generated {report.opportunities:,} opportunities, {report.transitions:,} transitions, "
        f"{report.completions:,} checklist completions on process {report.process} "
        f"in {seconds:.1f}s (migrate {migrate_seconds:.1f}s)"
    )
    return {
        "generated": True,
        "seconds": round(seconds, 2),
        "steps": report.steps,
        "targets": targets.__dict__,
        "completions": report.completions,
    }


def run_scenarios(scenarios, ctx) -> dict[str, dict]:
    from bench.registry import complete

    results = {}
    for entry in scenarios:
        print(f"→ {entry.name} ...", flush=True)
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        try:
            result = entry.function(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
            traceback.print_exc()
            result = {"met": False, "error": f"{type(exc).__name__}: {exc}", "summary": "ERROR"}
        result = complete(result, target=entry.target)
        result["seconds"] = round(time.perf_counter() - started, 1)
        # Other work on the machine inflates wall times; keep the evidence next to the figures.
        result["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        results[entry.name] = result
    return results


def format_table(results: dict[str, dict]) -> str:
    def cell(value, digits=1):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.{digits}f}"
        return str(value)

    header = ("scenario", "n", "p50 ms", "p95 ms", "cpu p50", "queries", "result", "target", "met")
    rows = [header]
    for name, result in results.items():
        rows.append(
            (
                name,
                cell(result["n"]),
                cell(result["p50_ms"]),
                cell(result["p95_ms"]),
                cell(result.get("cpu_p50_ms")),
                cell(result["queries"]),
                result.get("summary") or result.get("error") or "",
                result["target"],
                "yes" if result["met"] else "NO",
            )
        )
        for variant, summary in (result.get("variants") or {}).items():
            rows.append(
                (
                    f"  {variant}",
                    cell(summary["n"]),
                    cell(summary["p50_ms"]),
                    cell(summary["p95_ms"]),
                    cell(summary.get("cpu_p50_ms")),
                    cell(summary["queries"]),
                    f"{summary['rows']} rows of {summary['total']:,}",
                    "",
                    "",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    database_url, broker_url = configure_environment()
    import django

    django.setup()
    import bench.scenarios  # noqa: F401 - registers the scenarios
    from bench.registry import SCENARIOS, selected

    if args.list:
        for entry in SCENARIOS.values():
            print(f"{entry.name:28} {entry.target}")
        return 0
    scenarios = selected(args.only)
    print(ensure_database(database_url))
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) / 2:
        print(
            f"Warning: load average {load:.1f} on {os.cpu_count()} CPUs; other work on this "
            "machine inflates wall times (the cpu p50 column is the steadier figure)."
        )
    dataset = prepare_dataset(args.scale, args.regenerate)

    from bench.context import BenchContext

    print(
        f"Broker: {broker_url}: moves queue their outbox dispatch there as in production; no "
        "worker consumes them and the bench purges them at the end."
    )
    ctx = BenchContext(
        duration=args.duration,
        clients=args.clients,
        workers=args.workers,
        broker_url=broker_url,
        server_environment={
            "DEBUG": "0",
            "SECRET_KEY": os.environ["SECRET_KEY"],
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "REDIS_CACHE_URL": os.environ.get("REDIS_CACHE_URL", ""),
        },
    )
    try:
        results = run_scenarios(scenarios, ctx)
    finally:
        for line in ctx.teardown():
            print(f"Clean-up: {line}")

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    meta = {
        "finished_at": datetime.now(UTC).isoformat(),
        "database": urlsplit(database_url).path.lstrip("/"),
        "broker": broker_url,
        "scale": args.scale,
        "duration_s": args.duration,
        "clients": args.clients,
        "workers": args.workers,
        "process": str(ctx.process),
        "move_stages": [stage.name for stage in ctx.stage_pair],
        "dataset": dataset,
        "cpus": os.cpu_count(),
        "load_1min_at_end": round(os.getloadavg()[0], 2),
    }
    (OUT / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
    print()
    print(format_table(results))
    print(f"\nWrote {OUT / 'results.json'}")
    errored = any("error" in result for result in results.values())
    missed = not all(result["met"] for result in results.values())
    return 1 if errored or (args.fail_on_miss and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
