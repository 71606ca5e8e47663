"""The calendar resync scenario at a tiny scale: the fake Calendar it serves, the activities the
three runs make, keep and remove, and the rolled-back transaction that leaves nothing behind."""

import pytest
from django.db import connection

from bench import generate, google
from integrations.models import Connection
from opportunities.models import Account, Activity
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def dataset(db):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the generator uses COPY")
    return generate.generate(scale=0.002, log=lambda line: None)


def test_the_scenario_syncs_resyncs_and_leaves_the_database_as_it_was(dataset, monkeypatch):
    monkeypatch.setattr(google, "EVENTS", 500)
    monkeypatch.setattr(google, "CHANGES", 20)

    result = google.calendar_resync(None)

    first, resync, incremental = (
        result["first_counts"],
        result["resync_counts"],
        result["incremental_counts"],
    )
    linked = first["created"]
    # Two in five tagged, two in five by domain (when the SA has such accounts), one internal.
    assert 200 <= linked <= 400 and first["skipped"] == 500 - linked
    assert first["failed"] == 0
    # The 410 lists everything again: 20 events are gone, the rest is as it was.
    assert resync["deleted"] + resync["unchanged"] == linked
    assert resync["created"] == resync["updated"] == 0 and resync["deleted"] <= 20
    assert incremental["updated"] + incremental["skipped"] == 20
    assert result["met"] is True
    assert not Activity.objects.filter(source="google_calendar").exists()
    assert not Connection.objects.exists()
    assert not Account.objects.exclude(domain="").exists()
