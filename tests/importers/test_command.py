"""manage.py import_pipeline."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from opportunities.models import Opportunity
from tests import factories
from tests.importers.conftest import day, write_csv
from tests.importers.test_maven import HEADER, PIPELINE, write_maven

pytestmark = pytest.mark.django_db


def run_command(*args):
    out, err = StringIO(), StringIO()
    call_command("import_pipeline", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_preset_import_reports_counts(folder):
    write_maven(folder)

    out, _ = run_command("--preset", "maven-crm", str(folder))

    assert "Imported 5 deal(s) into MavenTech pipeline v1: 5 new, 0 updated, 0 unchanged" in out
    assert "won 2, lost 1, open 2" in out
    assert Opportunity.objects.count() == 5


def test_dry_run_writes_nothing(folder):
    write_maven(folder)

    out, _ = run_command("--preset", "maven-crm", str(folder), "--dry-run")

    assert "Would import 5 deal(s)" in out
    assert "owner Ann Agent: new user without login: Ann Agent" in out
    assert "Dry run: nothing was written." in out
    assert Opportunity.objects.count() == 0


def test_bad_rows_fail_the_command_and_are_all_listed(folder):
    write_maven(folder, [HEADER, *PIPELINE[1:], "Z1,Ann Agent,GTX Pro,,Won,2017-01-02,,5", "Z2"])

    with pytest.raises(CommandError, match=r"2 problem\(s\) in 6 row\(s\): nothing was imported"):
        out, err = StringIO(), StringIO()
        try:
            call_command(
                "import_pipeline", "--preset", "maven-crm", str(folder), stdout=out, stderr=err
            )
        finally:
            lines = err.getvalue().splitlines()
    assert lines == [
        "rejected: sales_pipeline.csv, line 7: a Won deal needs a close_date",
        "rejected: sales_pipeline.csv, line 8: has 1 fields where the header has 8",
    ]
    assert Opportunity.objects.count() == 0


def test_as_of_option_dates_undated_deals(folder):
    write_maven(folder)

    run_command("--preset", "maven-crm", str(folder), "--as-of", "2018-01-15")

    assert Opportunity.objects.get(name__endswith="(P1)").created_at == day("2018-01-15")


def test_bad_as_of_and_missing_directory_are_errors(folder):
    with pytest.raises(CommandError, match="not a date"):
        run_command("--preset", "maven-crm", str(folder), "--as-of", "soon")
    with pytest.raises(CommandError, match="is not a directory"):
        run_command("--preset", "maven-crm", str(folder / "nowhere"))


def test_generic_csv_with_a_mapping_file(folder):
    factories.make_process(("Discovery", "Demo"), slug="plain")
    csv_path = write_csv(folder, "export.csv", ["id,title,status", "1,First,Demo", "2,Second,Won"])
    mapping = folder / "mapping.yml"
    mapping.write_text(
        "process: plain\ncolumns:\n  external_id: id\n  name: title\n  stage: status\n"
    )

    with pytest.raises(CommandError):
        # A won deal needs a close date: the whole file is refused.
        run_command("--mapping", str(mapping), str(csv_path))
    write_csv(folder, "export.csv", ["id,title,status", "1,First,Demo", "2,Second,Discovery"])
    out, _ = run_command("--mapping", str(mapping), str(csv_path), "--as-of", "2024-05-01")

    assert "Imported 2 deal(s)" in out
    assert set(Opportunity.objects.values_list("created_at", flat=True)) == {day("2024-05-01")}
