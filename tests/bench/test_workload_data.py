"""The workload scenario's activities and product gaps at a tiny scale: where they fall, that
they are written once per version, and that the generated deals are left as they were."""

import pytest
from django.db import connection
from django.utils import timezone

from bench import generate, workload
from opportunities.models import Activity, Opportunity, ProductGap, StageTransition
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SCALE = 0.002  # 200 opportunities


@pytest.fixture
def dataset(db):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the generator uses COPY")
    return generate.generate(scale=SCALE, log=lambda line: None)


def _deals():
    return list(
        Opportunity.objects.order_by("pk").values_list(
            "pk", "stage_id", "outcome", "amount", "stage_entered_at", "closed_at", "version"
        )
    )


def test_activities_and_gaps_are_added_once_without_touching_the_deals(dataset):
    deals_before = _deals()
    transitions_before = StageTransition.objects.count()

    first = workload.ensure_workload_data(log=lambda line: None)
    again = workload.ensure_workload_data(log=lambda line: None)

    assert first["generated"] and not again["generated"]
    assert first["activities"] == again["activities"] == Activity.objects.count() > 0
    assert first["gaps"] == ProductGap.objects.count() > 0
    assert _deals() == deals_before
    assert StageTransition.objects.count() == transitions_before
    # Every source, durations where the kind has one.
    assert set(Activity.objects.values_list("source", flat=True)) >= {"manual", "vivun"}
    assert Activity.objects.filter(duration_minutes__isnull=False).exists()
    assert not Activity.objects.filter(kind__in=("email", "note"), duration_minutes__gt=0).exists()


def test_activities_fall_within_their_deals_lives(dataset):
    workload.ensure_workload_data(log=lambda line: None)
    now = timezone.now()
    for occurred, created, closed in Activity.objects.values_list(
        "occurred_at", "opportunity__created_at", "opportunity__closed_at"
    ):
        assert created <= occurred <= (closed or now)


def test_rows_of_another_version_are_replaced(dataset, monkeypatch):
    workload.ensure_workload_data(log=lambda line: None)
    count = Activity.objects.count()
    monkeypatch.setattr(workload, "EXTERNAL_PREFIX", "bench-wl-next-")
    report = workload.ensure_workload_data(log=lambda line: None)
    assert report["generated"]
    assert Activity.objects.count() == count  # the same draw, in place of the old rows
    assert not Activity.objects.filter(external_id__startswith="bench-wl1-").exists()
