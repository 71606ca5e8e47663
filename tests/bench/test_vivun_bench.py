"""The Vivun sync scenario at a tiny scale: the export it writes, the two runs' counts, SAs
matched by email, and the rolled-back transaction that leaves nothing behind."""

import pytest
from django.db import connection

from bench import generate, vivun
from epos.models import ExternalRef
from integrations.models import Connection, SyncedItem, SyncRun
from opportunities.models import Activity
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def dataset(db):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the generator uses COPY")
    return generate.generate(scale=0.002, log=lambda line: None)


def test_the_scenario_imports_then_finds_everything_unchanged_and_keeps_nothing(dataset):
    activities_before = Activity.objects.count()

    figures = vivun.child(300)

    assert figures["first_status"] == figures["second_status"] == SyncRun.Status.SUCCEEDED
    assert figures["first_counts"]["created"] == 300
    assert figures["first_counts"]["failed"] == 0
    assert figures["second_counts"]["created"] == 0
    assert figures["second_counts"]["unchanged"] == 300
    assert figures["peak_rss_mb"] > 0
    # Rolled back: the bench database is left as generated.
    assert Activity.objects.count() == activities_before
    assert not Connection.objects.exists()
    assert not SyncedItem.objects.exists()
    assert not ExternalRef.objects.filter(system="vivun").exists()


def test_the_export_names_deals_and_sas_as_vivun_does(tmp_path):
    path = tmp_path / "activities.csv"

    vivun.write_export(path, ["006A", "006B"], ["sa01@bench.example"], rows=3)

    lines = path.read_text().splitlines()
    assert lines[0].startswith("Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours")
    assert [line.split(",")[1] for line in lines[1:]] == ["006A", "006B", "006A"]
    assert lines[1].endswith("SA01@BENCH.EXAMPLE")
