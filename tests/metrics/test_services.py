from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from epos.lib.errors import Conflict, Forbidden, InvalidInput
from metrics import services, tasks
from metrics.models import MetricSnapshot, Pilot, Quota
from stages.models import Process
from tests import factories

pytestmark = pytest.mark.django_db


def snapshot_rows(day):
    return sorted(
        (
            row.stage.name,
            row.team_id,
            row.open_count,
            row.pipeline_amount,
            row.weighted_pipeline_amount,
        )
        for row in MetricSnapshot.objects.filter(day=day).select_related("stage")
    )


# --- snapshots ---------------------------------------------------------------------------------


def test_snapshot_stores_open_pipeline_per_stage_and_team(pipeline, team):
    written = services.metric_snapshot_take(day=date(2025, 5, 1))

    assert written == 2
    assert snapshot_rows(date(2025, 5, 1)) == [
        ("Demo", team.pk, 1, Decimal("40000.00"), Decimal("16000.00")),  # F at 40 %
        ("Discovery", team.pk, 1, Decimal("8000.00"), Decimal("1600.00")),  # G at 20 %
    ]


def test_snapshot_is_idempotent_per_day(pipeline):
    services.metric_snapshot_take(day=date(2025, 5, 1))
    first = snapshot_rows(date(2025, 5, 1))
    services.metric_snapshot_take(day=date(2025, 5, 1))
    assert snapshot_rows(date(2025, 5, 1)) == first
    assert MetricSnapshot.objects.count() == 2
    services.metric_snapshot_take(day=date(2025, 5, 2))
    assert MetricSnapshot.objects.count() == 4


def test_daily_task_takes_the_snapshot_of_the_given_day(pipeline):
    assert tasks.snapshot_daily("2025-05-03") == 2
    assert MetricSnapshot.objects.filter(day=date(2025, 5, 3)).count() == 2


def test_backfill_rebuilds_past_days_from_the_transitions(pipeline, team):
    # End of 25 February (d55): F sat in Discovery (created d50, Demo only on d60); G did not
    # exist; every other deal had closed.
    written = services.metric_snapshot_backfill(days=1, today=date(2025, 2, 26))

    assert written == 1
    assert snapshot_rows(date(2025, 2, 25)) == [
        ("Discovery", team.pk, 1, Decimal("40000.00"), Decimal("8000.00"))
    ]


def test_backfill_keeps_days_already_stored(pipeline):
    services.metric_snapshot_take(day=date(2025, 2, 25))
    before = snapshot_rows(date(2025, 2, 25))
    services.metric_snapshot_backfill(days=2, today=date(2025, 2, 26))
    assert snapshot_rows(date(2025, 2, 25)) == before
    assert MetricSnapshot.objects.filter(day=date(2025, 2, 24)).exists()


# --- quotas ------------------------------------------------------------------------------------


def test_manager_sets_and_updates_a_quota_for_a_team_member(carol, alice):
    period = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    first = services.quota_set(
        actor=carol, user=alice, kind="won_amount", target=2_000_000, **period
    )
    second = services.quota_set(
        actor=carol, user=alice, kind="won_amount", target="2500000", **period
    )

    assert first.pk == second.pk
    assert Quota.objects.get().target == Decimal("2500000.00")


@pytest.mark.parametrize("actor_name", ["alice", "erin"])
def test_sas_and_curators_may_not_set_quotas(request, actor_name, bob):
    actor = request.getfixturevalue(actor_name)
    with pytest.raises(Forbidden):
        services.quota_set(
            actor=actor,
            user=bob,
            kind="won_amount",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
            target=1,
        )
    assert not Quota.objects.exists()


def test_manager_may_not_set_quotas_outside_their_teams(carol, dave):
    with pytest.raises(Forbidden):
        services.quota_set(
            actor=carol,
            user=dave,
            kind="won_amount",
            period_start=date(2025, 1, 1),
            period_end=date(2025, 12, 31),
            target=1,
        )
    assert not Quota.objects.exists()


@pytest.mark.parametrize(
    ("kind", "start", "end", "target"),
    [
        ("won_amount", date(2025, 2, 1), date(2025, 1, 1), 10),
        ("won_amount", date(2025, 1, 1), date(2025, 1, 31), 0),
        ("qualified_opportunities", date(2025, 1, 1), date(2025, 1, 31), "20.5"),
    ],
)
def test_quota_validation(root, alice, kind, start, end, target):
    with pytest.raises(ValidationError):
        services.quota_set(
            actor=root, user=alice, kind=kind, period_start=start, period_end=end, target=target
        )
    assert not Quota.objects.exists()


# --- pilots ------------------------------------------------------------------------------------


def versions():
    baseline, _ = factories.make_process(("Discovery", "Demo"), slug="presales", version=1)
    pilot_process, _ = factories.make_process(
        ("Discovery", "Demo"), slug="presales", version=2, based_on=baseline
    )
    return baseline, pilot_process


def create_pilot(actor, alice, **overrides):
    baseline, pilot_process = overrides.pop("processes", None) or versions()
    fields = {
        "name": "Shorter discovery",
        "process": pilot_process,
        "baseline_process": baseline,
        "members": [alice],
        "starts_on": date(2025, 1, 1),
        "ends_on": date(2025, 6, 30),
        "hypothesis": "A one-call discovery cuts MTTC by a fifth.",
        **overrides,
    }
    return services.pilot_create(actor=actor, **fields)


def test_manager_creates_a_pilot(carol, alice):
    pilot = create_pilot(carol, alice)
    assert list(pilot.members.all()) == [alice]
    assert pilot.created_by == carol
    assert pilot.target_value == Decimal("-20")


def test_pilot_needs_members_and_a_non_draft_process(carol, alice):
    processes = versions()
    with pytest.raises(InvalidInput):
        create_pilot(carol, alice, members=[], processes=processes)
    draft, _ = factories.make_process(("Only",), status=Process.Status.DRAFT)
    with pytest.raises(InvalidInput):
        create_pilot(carol, alice, process=draft, processes=processes)
    assert not Pilot.objects.exists()


def test_pilot_refuses_a_window_that_ends_before_it_starts(carol, alice):
    with pytest.raises(ValidationError):
        create_pilot(carol, alice, ends_on=date(2024, 12, 1))
    assert not Pilot.objects.exists()


def test_sa_may_not_create_a_pilot(alice):
    with pytest.raises(Forbidden):
        create_pilot(alice, alice)


def test_roll_out_activates_the_pilot_version_and_retires_the_baseline(carol, alice, root):
    pilot = create_pilot(root, alice)
    pilot.process.status = Process.Status.DRAFT
    pilot.process.save()
    other_active, _ = factories.make_process(("X",), slug="presales", version=3)

    rolled = services.pilot_roll_out(pilot=pilot, actor=carol)

    pilot.process.refresh_from_db()
    pilot.baseline_process.refresh_from_db()
    other_active.refresh_from_db()
    assert pilot.process.status == Process.Status.ACTIVE
    assert pilot.baseline_process.status == Process.Status.RETIRED
    assert other_active.status == Process.Status.RETIRED  # one active version of the playbook
    assert rolled.rolled_out_by == carol and rolled.rolled_out_at is not None


def test_roll_out_happens_once(carol, alice):
    pilot = create_pilot(carol, alice)
    services.pilot_roll_out(pilot=pilot, actor=carol)
    with pytest.raises(Conflict):
        services.pilot_roll_out(pilot=pilot, actor=carol)


def test_sa_may_not_roll_out_and_nothing_changes(carol, alice):
    pilot = create_pilot(carol, alice)
    with pytest.raises(Forbidden):
        services.pilot_roll_out(pilot=pilot, actor=alice)
    pilot.refresh_from_db()
    pilot.baseline_process.refresh_from_db()
    assert pilot.rolled_out_at is None
    assert pilot.baseline_process.status == Process.Status.ACTIVE


def test_pilot_status_follows_the_calendar(carol, alice):
    pilot = create_pilot(carol, alice)
    assert pilot.status_on(date(2024, 12, 31)) == "planned"
    assert pilot.status_on(date(2025, 6, 30)) == "running"
    assert pilot.status_on(date(2025, 6, 30) + timedelta(days=1)) == "finished"
