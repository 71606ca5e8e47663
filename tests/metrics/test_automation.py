"""The automation report: completions by evidence vs by hand per stage, the lag from evidence
to a manual tick, and who may read it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from epos.models import OutboxMessage
from metrics.selectors import automation_report
from opportunities.models import ChecklistCompletion
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(stages):
    call = factories.StageItemFactory(
        stage=stages[0],
        title="Call held",
        position=10,
        evidence_event="activity.recorded",
        evidence_condition={"kind": "call"},
    )
    survey = factories.StageItemFactory(
        stage=stages[1], title="Survey sent", position=10, evidence_event="esat.sent"
    )
    plain = factories.StageItemFactory(stage=stages[0], title="No rule", position=11)
    return call, survey, plain


def _event(deal, topic, at, **data):
    message = OutboxMessage.objects.create(
        topic=topic, payload={"opportunity_id": deal.pk, **data}, dispatched_at=at
    )
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=at)
    return message


def _tick(deal, item, at, *, auto=None, by=None):
    return ChecklistCompletion.objects.create(
        opportunity=deal, item=item, done=True, done_at=at, auto_event_id=auto, done_by=by
    )


def test_counts_per_stage_and_the_median_lag(alice, team, stages, rules):
    call, survey, plain = rules
    now = timezone.now()
    deals = [
        factories.OpportunityFactory(stage=stages[0], owner=alice, team=team) for _ in range(4)
    ]
    # Two manual ticks of "Call held", 2 h and 6 h after the call; an email before does not count.
    for deal, hours in ((deals[0], 2), (deals[1], 6)):
        _event(deal, "activity.recorded", now - timedelta(hours=hours + 1), kind="email")
        _event(deal, "activity.recorded", now - timedelta(hours=hours), kind="call")
        _tick(deal, call, now, by=alice)
    # A manual tick with no evidence at all is counted but not measured.
    _tick(deals[2], call, now, by=alice)
    # Three automatic completions; a tick of an item without a rule is left out.
    for deal in deals[:3]:
        message = _event(deal, "esat.sent", now - timedelta(hours=1))
        _tick(deal, survey, now - timedelta(hours=1), auto=message.pk)
    _tick(deals[3], plain, now, by=alice)
    # Outside the window: not counted.
    _tick(deals[3], call, now - timedelta(days=100), by=alice)

    report = automation_report(user=alice, days=90)

    by_stage = {row.stage: (row.automatic, row.manual) for row in report.stages}
    assert by_stage == {stages[0].name: (0, 3), stages[1].name: (3, 0)}
    assert (report.automatic, report.manual, report.share) == (3, 3, 50.0)
    assert sorted(report.lags) == [timedelta(hours=2), timedelta(hours=6)]
    assert report.median_lag == timedelta(hours=4)
    assert report.time_saved == timedelta(hours=12)


def test_only_visible_deals_count(alice, dave, team, stages, rules):
    call, _, _ = rules
    deal = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
    _tick(deal, call, timezone.now(), by=alice)
    assert automation_report(user=alice).manual == 1
    assert automation_report(user=dave).manual == 0


def test_the_page_for_managers_and_its_query_count(
    client, django_assert_num_queries, carol, alice, team, stages, rules
):
    call, survey, _ = rules
    client.force_login(carol)
    url = reverse("metrics:automation")
    now = timezone.now()
    for count in (1, 5):
        for _ in range(count):
            deal = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
            _event(deal, "activity.recorded", now - timedelta(hours=3), kind="call")
            _tick(deal, call, now, by=alice)
            _tick(deal, survey, now, auto=_event(deal, "esat.sent", now).pk)
        # session, user, roles, teams, counts per stage, manual ticks, their evidence
        with django_assert_num_queries(7):
            html = client.get(url).content.decode()
        assert 'data-kpi="lag">3.0 h<' in html
    assert client.get(url, {"days": "nonsense"}).status_code == 200


def test_an_sa_may_not_read_the_automation_page(client, alice):
    client.force_login(alice)
    assert client.get(reverse("metrics:automation")).status_code == 403
