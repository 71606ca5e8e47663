"""Bench: a Vivun sync of 50,000 activities, and a second run of the same data, on PostgreSQL.

Targets: the first run (read the export, match deals and SAs, write 50,000 activities with their
external references and links back to Vivun) within 30 s with the process's peak memory within
300 MB; a second run of the same export creates no row and takes at most 10 s.

    python -m bench.vivun                    # alone, against the bench database
    python -m bench.run --only vivun_import,vivun_reimport

The sync runs in a child process (`--child`), so its peak resident memory is its own: Django,
the adapter and the writer, measured by the kernel (ru_maxrss), not estimated. The child goes
through the service a "Sync now" runs (`sync_request`, then `sync_run` as the task would) on a
CSV export with Vivun's column names, against 1,000 deals of the bench dataset found by their
Salesforce ids and the bench's SAs found by email. Everything happens in one transaction that is
rolled back at the end, after `SET CONSTRAINTS ALL IMMEDIATE` has run the foreign-key checks
PostgreSQL would otherwise defer to the commit.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.config import REPO
from bench.registry import scenario

ROWS = 50_000
DEALS = 1_000
IMPORT_TARGET_S = 30.0
MEMORY_TARGET_MB = 300.0
REIMPORT_TARGET_S = 10.0
KINDS = ("Demo", "Phone Call", "Customer Meeting", "Workshop", "POC Work", "Internal Prep")


def write_export(path: Path, deal_refs: list[str], emails: list[str], rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "Activity ID",
                "Opportunity ID",
                "Activity Type",
                "Activity Date",
                "SE Hours",
                "Subject",
                "Notes",
                "Assigned SE Email",
            ]
        )
        for number in range(rows):
            writer.writerow(
                [
                    f"a0B{number:015d}",
                    deal_refs[number % len(deal_refs)],
                    KINDS[number % len(KINDS)],
                    f"2026-{1 + number % 12:02d}-{1 + number % 28:02d}",
                    f"{(number % 16) / 4:.2f}",
                    f"Bench activity {number}",
                    "Notes, with a comma" if number % 5 == 0 else "",
                    emails[number % len(emails)].upper() if emails else "",
                ]
            )


def child(rows: int) -> dict:
    """Run the two syncs (in this process, after Django setup) and return the figures."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from bench import generate
    from epos.models import ExternalRef
    from integrations.models import SyncRun
    from integrations.sync import services
    from opportunities.models import Opportunity

    directory = Path(tempfile.mkdtemp(prefix="epos-bench-vivun-"))
    export = directory / "activities.csv"
    figures: dict = {"rows": rows}
    with transaction.atomic():
        deal_ids = list(Opportunity.objects.order_by("pk").values_list("pk", flat=True)[:DEALS])
        refs = [f"006BENCH{deal_id:010d}" for deal_id in deal_ids]
        ExternalRef.objects.bulk_create(
            [
                ExternalRef(
                    system="salesforce",
                    kind="opportunity",
                    external_id=ref,
                    content_type_id=_content_type_id(Opportunity),
                    object_id=deal_id,
                )
                for ref, deal_id in zip(refs, deal_ids, strict=True)
            ]
        )
        emails = list(
            get_user_model()
            .objects.filter(username__startswith=f"{generate.USER_PREFIX}sa")
            .exclude(email="")
            .values_list("email", flat=True)
        )
        write_export(export, refs, emails, rows)
        connection_ = services.connection_create(
            actor=None,
            system="vivun",
            adapter="vivun_csv",
            name="bench: Vivun export",
            settings={
                "files": {"activities": str(export)},
                "record_urls": {"activities": "https://bench.vivun.app/activities/{id}"},
            },
        )
        for label in ("first", "second"):
            started, cpu = time.perf_counter(), time.process_time()
            run, _ = services.sync_request(actor=None, connection=connection_)
            run = services.sync_run(run_id=run.pk)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            figures[f"{label}_s"] = round(time.perf_counter() - started, 2)
            # This process's CPU alone (PostgreSQL's is not in it): steadier on a busy machine.
            figures[f"{label}_cpu_s"] = round(time.process_time() - cpu, 2)
            figures[f"{label}_counts"] = run.counts
            figures[f"{label}_status"] = run.status
            if run.status != SyncRun.Status.SUCCEEDED:
                figures[f"{label}_errors"] = run.errors[:5] or run.message
        transaction.set_rollback(True)
    export.unlink()
    directory.rmdir()
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def _content_type_id(model) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def measure(rows: int = ROWS) -> dict:
    """The child's figures (it inherits the bench's DATABASE_URL and settings)."""
    completed = subprocess.run(  # noqa: S603 - our own interpreter running this module
        [sys.executable, "-m", "bench.vivun", "--child", "--rows", str(rows)],
        cwd=REPO,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"the Vivun bench child failed:\n{completed.stdout}\n{completed.stderr}")
    return json.loads(lines[-1])


def _figures(ctx) -> dict:
    if "vivun" not in ctx.shared:
        ctx.shared["vivun"] = measure()
    return ctx.shared["vivun"]


def _timing(seconds: float) -> dict:
    return {"n": 1, "p50_ms": seconds * 1000, "p95_ms": seconds * 1000, "max_ms": seconds * 1000}


@scenario(
    "vivun_import",
    target=f"≤ {IMPORT_TARGET_S:.0f} s and ≤ {MEMORY_TARGET_MB:.0f} MB for 50,000 activities",
)
def vivun_import(ctx) -> dict:
    figures = _figures(ctx)
    counts = figures["first_counts"]
    met = (
        figures["first_s"] <= IMPORT_TARGET_S
        and figures["peak_rss_mb"] <= MEMORY_TARGET_MB
        and counts.get("created") == figures["rows"]
        and counts.get("failed") == 0
    )
    return _timing(figures["first_s"]) | {
        "met": met,
        "cpu_p50_ms": figures["first_cpu_s"] * 1000,
        "peak_rss_mb": figures["peak_rss_mb"],
        "counts": counts,
        "summary": (
            f"{figures['rows']:,} activities: {figures['first_s']:.1f} s "
            f"({figures['first_cpu_s']:.1f} s CPU), peak RSS "
            f"{figures['peak_rss_mb']:.0f} MB, created {counts.get('created')}"
        ),
    }


@scenario("vivun_reimport", target=f"0 rows created, ≤ {REIMPORT_TARGET_S:.0f} s")
def vivun_reimport(ctx) -> dict:
    figures = _figures(ctx)
    counts = figures["second_counts"]
    met = (
        figures["second_s"] <= REIMPORT_TARGET_S
        and counts.get("created") == 0
        and counts.get("unchanged") == figures["rows"]
    )
    return _timing(figures["second_s"]) | {
        "met": met,
        "cpu_p50_ms": figures["second_cpu_s"] * 1000,
        "counts": counts,
        "summary": (
            f"second run of {figures['rows']:,}: {figures['second_s']:.1f} s "
            f"({figures['second_cpu_s']:.1f} s CPU), "
            f"created {counts.get('created')}, unchanged {counts.get('unchanged')}"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.vivun", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from bench.run import configure_environment

    configure_environment()
    import django

    django.setup()
    if args.child:
        print(json.dumps(child(args.rows)))
        return 0
    figures = measure(args.rows)
    print(json.dumps(figures, indent=2))
    met = (
        figures["first_s"] <= IMPORT_TARGET_S
        and figures["peak_rss_mb"] <= MEMORY_TARGET_MB
        and figures["second_s"] <= REIMPORT_TARGET_S
        and figures["second_counts"].get("created") == 0
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
