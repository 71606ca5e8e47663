"""seed_demo lives in the project package because it fills every app: opportunities first,
then the building-block library that refers to those deals, then the pilot they ran in."""

import io
import logging
import random
import time
from contextlib import contextmanager

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from building_blocks.demo.apply import seed as blocks_demo_seed
from epos.models import BuiltinRecord
from epos.outbox import outbox_quiet
from metrics.demo import pilot_verdict, seed_pilot
from opportunities.demo.apply import database_is_empty, demo_seed
from opportunities.demo.plan import DEFAULT_SEED, DemoDataError

DEMO_SOURCE = "demo"


@contextmanager
def _quiet_eager_tasks():
    """Without a broker every outbox event runs in-process, and Celery logs each run at INFO:
    thousands of "Task ... succeeded" lines that would bury the summary."""
    logger = logging.getLogger("celery.app.trace")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Fill an empty database with deterministic demo data: users (password epos-demo), "
        "teams, accounts, ~400 opportunities with 18 months of history, the SAs' hours of the "
        "last 90 days and meetings ahead, a running pilot and the building-block library."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Random seed")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) when the database already has opportunities",
        )

    def handle(self, *args, seed, if_empty, **options):
        # The demo deals run on the built-in processes; loading them is idempotent.
        loaded = io.StringIO()
        call_command("load_processes", stdout=loaded)
        seeded_before = BuiltinRecord.objects.filter(source=DEMO_SOURCE).exists()
        if if_empty and seeded_before:
            # Deleting the demo deals must not bring them back on the next start.
            self.stdout.write("Demo data was loaded once already; not loaded again.")
            return
        if not database_is_empty():
            if if_empty:
                self.stdout.write("Opportunities already exist; demo data not loaded.")
                return
            raise CommandError(
                "The database already has data; seed_demo only fills an empty database "
                "(use --if-empty to skip quietly)."
            )
        if options["verbosity"] > 1:
            self.stdout.write(loaded.getvalue())
        started = time.monotonic()
        try:
            with _quiet_eager_tasks():
                summary = demo_seed(seed=seed)
                with outbox_quiet():
                    blocks_summary = blocks_demo_seed(rng=random.Random(seed), stdout=None)
                pilot = seed_pilot(
                    plan=summary["pilot"],
                    process=summary["pilot_process"],
                    baseline=summary["baseline_process"],
                )
                BuiltinRecord.objects.get_or_create(
                    source=DEMO_SOURCE, key=str(seed), defaults={"digest": ""}
                )
        except DemoDataError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        outcomes = ", ".join(f"{count} {name}" for name, count in summary["outcomes"].items())
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded (seed {seed}) in {elapsed:.1f} s:"))
        self.stdout.write(
            "\n".join(
                [
                    f"  users: {summary['users']} (password epos-demo)",
                    f"  teams: {summary['teams']}",
                    f"  accounts: {summary['accounts']} with {summary['contacts']} contacts",
                    f"  opportunities: {summary['opportunities']} ({outcomes})",
                    f"  transitions: {summary['transitions']} "
                    f"({summary['overrides']} gate overrides)",
                    f"  activities: {summary['activities']}, "
                    f"ESAT answers: {summary['esat_responses']}, "
                    f"product gaps: {summary['product_gaps']}, "
                    f"qualifications: {summary['qualifications']}",
                ]
            )
        )
        if pilot is not None:
            verdict = pilot_verdict(pilot)
            arms = verdict.arms
            self.stdout.write(
                f"  pilot: {pilot.name} ({pilot.status_on(timezone.localdate())}, "
                f"{arms['pilot'].opportunities} deals in the pilot arm, "
                f"{arms['control'].opportunities} in the control arm): {verdict.verdict}"
            )
        if blocks_summary:
            self.stdout.write(
                f"  building blocks: {blocks_summary['blocks']} "
                f"({blocks_summary['published']} published, {blocks_summary['usages']} uses), "
                f"catalog links: {blocks_summary['catalog_links']}, "
                f"discovery links: {blocks_summary['discovery_links']}, "
                f"training paths: {blocks_summary['training_paths']}"
            )
