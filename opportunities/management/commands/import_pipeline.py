from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from opportunities.importers import presets
from opportunities.importers.base import parse_datetime
from opportunities.importers.services import pipeline_import


class Command(BaseCommand):
    help = (
        "Import a pipeline from another CRM: --preset maven-crm DIR, --preset salesforce DIR, "
        "or --mapping FILE CSV for any CSV. One transaction: a file with any bad row imports "
        "nothing and every rejected row is listed. Importing again updates, never duplicates."
    )

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--preset", choices=sorted(presets.PRESETS))
        source.add_argument("--mapping", type=Path, help="JSON or YAML column mapping")
        parser.add_argument("path", type=Path, help="the preset's directory, or the CSV file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, then roll everything back"
        )
        parser.add_argument(
            "--as-of",
            help="YYYY-MM-DD: when deals without any date were created "
            "(default: the latest date in the file)",
        )

    def handle(self, *args, preset, mapping, path, dry_run, as_of, **options):
        as_of_time = self._as_of(as_of)
        if preset:
            if not path.is_dir():
                raise CommandError(f"{path} is not a directory")
            files = presets.files_in_directory(path, presets.PRESETS[preset].files)
            plan = presets.build_plan(preset=preset, files=files, as_of=as_of_time)
        else:
            if not path.is_file() or not mapping.is_file():
                raise CommandError(f"{path} and {mapping} must both be files")
            plan = presets.build_plan(
                preset=presets.GENERIC,
                files={path.name: path.read_bytes()},
                mapping=(mapping.name, mapping.read_bytes()),
                as_of=as_of_time,
            )
        result = pipeline_import(plan=plan, actor=None, dry_run=dry_run)
        for warning in plan.warnings:
            self.stdout.write(f"note: {warning}")
        if not result.ok:
            for error in result.errors:
                self.stderr.write(f"rejected: {error}")
            raise CommandError(
                f"{len(result.errors)} problem(s) in {plan.rows_read} row(s): nothing was imported."
            )
        outcomes = plan.count_by_outcome()
        stages = ", ".join(f"{name} {count}" for name, count in plan.count_by_stage())
        verb = "Would import" if dry_run else "Imported"
        self.stdout.write(
            f"{verb} {len(plan.opportunities)} deal(s) into {result.process}: "
            f"{result.created} new, {result.updated} updated, {result.unchanged} unchanged; "
            f"{result.transitions_written} transition(s) written; "
            f"won {outcomes['won']}, lost {outcomes['lost']}, open {outcomes['open']} "
            f"({stages}); {result.users_created} user(s), {result.teams_created} team(s), "
            f"{result.accounts_created} account(s) created; {result.seconds:.2f} s."
        )
        if dry_run:
            for owner in result.owners:
                self.stdout.write(f"owner {owner.external_id}: {owner.label}")
            self.stdout.write("Dry run: nothing was written.")

    @staticmethod
    def _as_of(value: str | None) -> datetime | None:
        if not value:
            return None
        try:
            return parse_datetime(value, ("iso",))
        except ValueError:
            raise CommandError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None
