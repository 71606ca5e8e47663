"""The SA workload page (/workload/): per SA, open deals by stage, deals past their stage's
target, hours from activities against a weekly capacity; per team, the product gaps and the
pipeline they put at risk. Every expected figure below is worked out from the rows the test
writes, not read back from the code under test."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from epos.lib.errors import Forbidden
from metrics import selectors, services
from metrics.models import SaCapacity
from opportunities.models import Activity, Opportunity, ProductGap
from opportunities.services import opportunity_move_to_stage
from tests import factories

pytestmark = pytest.mark.django_db

URL = reverse("metrics:workload")
DEALS_URL = reverse("metrics:workload-deals")
TARGET_DAYS = 14  # every open stage of factories.make_process


def capacity_url(user) -> str:
    return reverse("metrics:workload-capacity", args=[user.pk])


@dataclass
class World:
    now: object
    process: object
    stages: list
    deals: dict
    # (owner username, minutes or None, days ago, source): every activity written
    activities: list
    # (deal name, severity, status): every gap written
    gaps: list


@pytest.fixture
def fred(other_team):
    """The manager of the other team (dave's)."""
    user = factories.UserFactory(
        username="fred", first_name="Fred", last_name="Fox", role="manager"
    )
    other_team.managers.add(user)
    return user


def _deal(name, owner, team, stage, *, entered_days_ago, now, amount=Decimal("10000")):
    return factories.OpportunityFactory(
        name=name,
        owner=owner,
        team=team,
        stage=stage,
        amount=amount,
        created_at=now - timedelta(days=entered_days_ago),
    )


@pytest.fixture
def world(team, other_team, alice, bob, carol, dave, root):
    now = timezone.now()
    process, stages = factories.make_process(("Discovery", "Demo", "Proposal"))
    discovery, demo, proposal, won, lost = stages
    deals = {
        # alice: one deal past Discovery's 14-day target, one fresh in Demo, one won.
        "A-late": _deal("A-late", alice, team, discovery, entered_days_ago=20, now=now),
        "A-fresh": _deal("A-fresh", alice, team, demo, entered_days_ago=3, now=now),
        "A-won": _deal("A-won", alice, team, discovery, entered_days_ago=60, now=now),
        # bob: two in Proposal, one of them past target; one with no amount.
        "B-late": _deal("B-late", bob, team, proposal, entered_days_ago=15, now=now),
        "B-ok": _deal("B-ok", bob, team, proposal, entered_days_ago=13, now=now, amount=None),
        # dave, another team: never on carol's page.
        "D-late": _deal("D-late", dave, other_team, discovery, entered_days_ago=40, now=now),
        # a lost deal of bob's: not open, its gap risks nothing.
        "B-lost": _deal("B-lost", bob, team, discovery, entered_days_ago=30, now=now),
    }
    deals["A-won"] = opportunity_move_to_stage(
        opportunity=deals["A-won"],
        to_stage=won,
        actor=root,
        override_reason="Signed",
        moved_at=now - timedelta(days=20),
    )
    deals["B-lost"] = opportunity_move_to_stage(
        opportunity=deals["B-lost"],
        to_stage=lost,
        actor=root,
        loss_reason="Price",
        moved_at=now - timedelta(days=5),
    )
    activities = [
        ("A-late", 60, 5, "manual"),
        ("A-late", 90, 40, "google_calendar"),
        ("A-late", 30, 100, "manual"),  # before both windows
        ("A-late", None, 2, "manual"),  # no duration: no hours
        ("A-late", 120, -2, "google_calendar"),  # a meeting still to come
        ("A-fresh", 30, 20, "vivun"),
        ("A-won", 45, 25, "zapier"),  # the deal is won; the hours were spent
        ("B-late", 240, 1, "manual"),
        ("B-ok", 75, 60, "vivun"),
        ("D-late", 600, 3, "manual"),
    ]
    for number, (name, minutes, days_ago, source) in enumerate(activities):
        Activity.objects.create(
            opportunity=deals[name],
            kind="meeting",
            occurred_at=now - timedelta(days=days_ago),
            duration_minutes=minutes,
            source=source,
            external_id="" if source == "manual" else f"ext-{number}",
        )
    gaps = [
        ("A-late", "deal_breaker", "open"),
        ("A-late", "deal_breaker", "planned"),
        ("A-late", "nice_to_have", "resolved"),  # resolved: no longer a risk
        ("B-ok", "deal_breaker", "wont_fix"),  # no amount: counted, not summed
        ("B-late", "deal_challenge", "open"),
        ("B-lost", "deal_breaker", "open"),  # the deal is lost
        ("D-late", "deal_breaker", "open"),  # another team
    ]
    for name, severity, status in gaps:
        ProductGap.objects.create(
            opportunity=deals[name], title=f"{name} {severity}", severity=severity, status=status
        )
    return World(now, process, stages, deals, activities, gaps)


# --- what the figures should be, from the rows written ---------------------------------------


def expected_minutes(world, owner, window) -> int:
    total = 0
    for name, minutes, days_ago, _ in world.activities:
        if world.deals[name].owner.username == owner and 0 <= days_ago < window and minutes:
            total += minutes
    return total


def expected_open(world, owner) -> list[str]:
    return sorted(
        name
        for name, deal in world.deals.items()
        if deal.owner.username == owner and deal.outcome == Opportunity.Outcome.OPEN
    )


def expected_late(world, owner) -> list[str]:
    return sorted(
        name
        for name in expected_open(world, owner)
        if world.now - world.deals[name].stage_entered_at > timedelta(days=TARGET_DAYS)
    )


def expected_gaps(world, team) -> dict[str, dict]:
    """Per severity, on the team's open deals: gaps, distinct deals, their known amounts."""
    figures = {}
    for name, severity, status in world.gaps:
        deal = world.deals[name]
        if deal.team != team or deal.outcome != "open" or status == "resolved":
            continue
        row = figures.setdefault(severity, {"gaps": 0, "deals": set()})
        row["gaps"] += 1
        row["deals"].add(name)
    for row in figures.values():
        amounts = [world.deals[name].amount for name in row["deals"]]
        row["amount"] = float(sum(a for a in amounts if a is not None))
        row["unpriced"] = sum(1 for a in amounts if a is None)
        row["deals"] = len(row["deals"])
    return figures


def load_of(workload, username):
    return next(load for load in workload.people if load.username == username)


# --- the selector ----------------------------------------------------------------------------


def test_each_sa_gets_open_deals_by_stage_past_target_and_hours(world, carol, team):
    workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)

    assert sorted(load.username for load in workload.people) == ["alice", "bob"]
    for username in ("alice", "bob"):
        load = load_of(workload, username)
        opened = expected_open(world, username)
        assert load.open_count == len(opened)
        by_stage = {}
        for name in opened:
            stage_id = world.deals[name].stage_id
            by_stage[stage_id] = by_stage.get(stage_id, 0) + 1
        assert load.open_by_stage == by_stage
        assert load.past_target == len(expected_late(world, username))
        for window in (30, 90):
            assert load.minutes[window] == expected_minutes(world, username, window)
    # By hand, to make sure the helpers above are not fooling themselves: alice logged 60 + 30
    # + 45 minutes in 30 days, plus 90 in 90 days; her one late deal is A-late.
    alice = load_of(workload, "alice")
    assert (alice.minutes[30], alice.minutes[90], alice.past_target) == (135, 225, 1)
    assert alice.hours(30) == pytest.approx(2.25)
    # The stages shown are those the deals are in, in the process's order.
    discovery, demo, proposal = world.stages[:3]
    assert workload.stages == [discovery, demo, proposal]


def test_utilisation_is_hours_over_capacity_for_the_window(world, carol, team, alice, bob):
    SaCapacity.objects.create(user=alice, weekly_hours=Decimal("20"))
    workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)
    alice_load, bob_load = load_of(workload, "alice"), load_of(workload, "bob")
    assert alice_load.weekly_hours == Decimal("20") and alice_load.capacity_set
    assert bob_load.weekly_hours == Decimal("40") and not bob_load.capacity_set
    for load, weekly in ((alice_load, 20), (bob_load, 40)):
        for window in (30, 90):
            hours = expected_minutes(world, load.username, window) / 60
            assert load.utilisation(window) == pytest.approx(hours / (weekly * window / 7))


def test_no_capacity_means_no_utilisation_rather_than_a_division_by_zero(world, carol, team):
    SaCapacity.objects.create(user=world.deals["A-late"].owner, weekly_hours=Decimal("0"))
    workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)
    assert load_of(workload, "alice").utilisation(30) is None


def test_the_gap_report_sums_each_open_deal_once_and_counts_unknown_amounts(world, carol, team):
    workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)
    got = {
        gap.severity: {
            "gaps": gap.gaps,
            "deals": gap.deals,
            "amount": gap.amount,
            "unpriced": gap.unpriced,
        }
        for gap in workload.gaps
    }
    assert got == expected_gaps(world, team)
    # By hand: two deal breakers on A-late (10,000 once) and one on B-ok (no amount).
    assert got["deal_breaker"] == {"gaps": 3, "deals": 2, "amount": 10000.0, "unpriced": 1}
    assert "nice_to_have" not in got  # its only gap is resolved
    assert {gap.team_id for gap in workload.gaps} == {team.pk}


def test_a_process_filter_narrows_deals_and_hours(world, carol, team, alice):
    other_process, other_stages = factories.make_process(("Scoping",))
    deal = _deal("A-other", alice, team, other_stages[0], entered_days_ago=30, now=world.now)
    Activity.objects.create(
        opportunity=deal,
        kind="call",
        occurred_at=world.now - timedelta(days=1),
        duration_minutes=60,
    )
    everything = load_of(selectors.sa_workload(user=carol, teams=[team], now=world.now), "alice")
    narrowed = load_of(
        selectors.sa_workload(user=carol, teams=[team], process=world.process, now=world.now),
        "alice",
    )
    assert everything.open_count == narrowed.open_count + 1
    assert everything.past_target == narrowed.past_target + 1
    assert everything.minutes[30] == narrowed.minutes[30] + 60


def test_the_past_target_rule_is_the_time_in_stage_one(world, carol, team):
    """The page's count and the dashboard's "open over target" (from the transitions) agree."""
    scope = selectors.metric_scope(
        user=carol, params={"process": world.process.pk, "team": team.pk}
    )
    flows = selectors.time_in_stage(scope=scope, now=world.now)
    workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)
    assert sum(flow.open_over_target for flow in flows) == sum(
        load.past_target for load in workload.people
    )


def test_workload_teams_are_the_managed_ones_or_all_for_an_admin(
    world, carol, root, alice, erin, team, other_team
):
    assert list(selectors.workload_teams(carol)) == [team]
    assert list(selectors.workload_teams(root)) == [team, other_team]
    assert list(selectors.workload_teams(alice)) == []
    assert list(selectors.workload_teams(erin)) == []


# --- who may see it --------------------------------------------------------------------------


def page_people(response) -> list[str]:
    return [row.load.username for row in response.context["page"].rows]


@pytest.mark.parametrize("persona", ["alice", "erin", "nobody"])
def test_sas_curators_and_roleless_users_are_refused(client, world, request, persona):
    client.force_login(request.getfixturevalue(persona))
    for url in (URL, f"{DEALS_URL}?drill=gaps&severity=deal_breaker"):
        assert client.get(url).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(client, world, alice):
    for response in (
        client.get(URL),
        client.get(DEALS_URL, {"drill": "gaps", "severity": "deal_breaker"}),
        client.post(capacity_url(alice), {"weekly_hours": "30"}),
    ):
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not SaCapacity.objects.exists()


def test_a_manager_sees_the_sas_of_the_teams_they_manage(client, world, carol, fred, root):
    client.force_login(carol)
    assert page_people(client.get(URL)) == ["alice", "bob"]
    client.force_login(fred)
    assert page_people(client.get(URL)) == ["dave"]
    client.force_login(root)
    assert page_people(client.get(URL)) == ["alice", "bob", "dave"]


def test_a_manager_may_not_pick_another_managers_team(client, world, fred, team):
    client.force_login(fred)
    response = client.get(URL, {"team": team.pk})
    assert response.status_code == 400
    assert "page" not in response.context


def test_a_manager_may_not_drill_into_another_teams_sa(client, world, fred, alice, carol, dave):
    client.force_login(fred)
    assert client.get(DEALS_URL, {"drill": "hours", "sa": alice.pk}).status_code == 404
    client.force_login(carol)
    assert client.get(DEALS_URL, {"drill": "past_target", "sa": dave.pk}).status_code == 404


def test_the_top_navigation_shows_workload_to_managers_and_admins_only(
    client, world, carol, root, alice, erin
):
    for user, shown in ((carol, True), (root, True), (alice, False), (erin, False)):
        client.force_login(user)
        html = client.get(reverse("opportunities:opportunity-list")).content.decode()
        assert ('href="/workload/"' in html) is shown, user.username


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_each_sas_figures_and_links_them(client, world, carol, alice):
    client.force_login(carol)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    row = next(row for row in response.context["page"].rows if row.load.username == "alice")
    assert f'id="workload-sa-{alice.pk}"' in html
    assert row.hours_30 == pytest.approx(expected_minutes(world, "alice", 30) / 60)
    # The open deals link to the opportunity list filtered to them, which lists exactly those.
    listing = client.get(row.links["open"])
    assert sorted(o.name for o in listing.context["page"].object_list) == expected_open(
        world, "alice"
    )
    # A stage segment lists the deals of that stage.
    discovery = world.stages[0]
    segment = next(s for s in row.segments if s.label == discovery.name)
    listing = client.get(segment.href)
    assert [o.name for o in listing.context["page"].object_list] == ["A-late"]
    # The charts are inline SVG, no script; every bar is a link.
    assert html.count('class="wl-bar"') >= 4 and "<canvas" not in html
    assert f'href="{row.hours_href.replace("&", "&amp;")}"' in html


def test_the_drilldowns_list_the_deals_behind_the_numbers(client, world, carol, team):
    client.force_login(carol)
    page = client.get(URL).context["page"]
    alice_row = next(row for row in page.rows if row.load.username == "alice")

    late = client.get(alice_row.links["past_target"])
    assert late.status_code == 200
    assert [o.name for o in late.context["page"].object_list] == expected_late(world, "alice")
    assert late.context["page"].object_list[0].days_in_stage == pytest.approx(20, abs=0.01)

    hours = client.get(alice_row.links["hours_90"])
    listed = {o.name: o.window_hours for o in hours.context["page"].object_list}
    per_deal = {}
    for name, minutes, days_ago, _ in world.activities:
        deal = world.deals[name]
        if deal.owner.username == "alice" and 0 <= days_ago < 90 and minutes:
            per_deal[name] = per_deal.get(name, 0) + minutes / 60
    assert listed == pytest.approx(per_deal)

    breaker = next(row for row in page.gap_rows if row.severity == "deal_breaker")
    gaps = client.get(breaker.href)
    assert sorted(o.name for o in gaps.context["page"].object_list) == ["A-late", "B-ok"]
    assert {o.name: o.gap_count for o in gaps.context["page"].object_list} == {
        "A-late": 2,
        "B-ok": 1,
    }


@pytest.mark.parametrize(
    "params",
    [
        {"drill": "nope"},
        {"drill": "hours"},  # no SA
        {"drill": "gaps"},  # no severity
        {"drill": "gaps", "severity": "fatal"},
        {"drill": "hours", "sa": "x"},
        {"drill": "hours", "sa": "1", "window": "45"},
    ],
)
def test_drilldowns_refuse_what_they_cannot_list(client, world, carol, params):
    client.force_login(carol)
    assert client.get(DEALS_URL, params).status_code == 400


@pytest.mark.parametrize("params", [{"window": "45"}, {"team": "x"}, {"process": "999999"}])
def test_the_page_refuses_bad_filters(client, world, carol, params):
    client.force_login(carol)
    assert client.get(URL, params).status_code == 400


def test_the_csv_holds_each_sas_figures(client, world, carol, alice):
    SaCapacity.objects.create(user=alice, weekly_hours=Decimal("32.5"))
    client.force_login(carol)
    response = client.get(URL, {"window": "90", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "epos-workload-90d-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["Username"] for row in rows] == ["alice", "bob"]
    discovery, demo, proposal = world.stages[:3]
    for row in rows:
        username = row["Username"]
        weekly = 32.5 if username == "alice" else 40.0
        hours_90 = expected_minutes(world, username, 90) / 60
        assert int(row["Open deals"]) == len(expected_open(world, username))
        assert int(row["Past stage target"]) == len(expected_late(world, username))
        assert float(row["Hours last 30 days"]) == pytest.approx(
            expected_minutes(world, username, 30) / 60, abs=0.005
        )
        assert float(row["Hours last 90 days"]) == pytest.approx(hours_90, abs=0.005)
        assert float(row["Capacity (hours a week)"]) == weekly
        assert float(row["Utilisation last 90 days"]) == pytest.approx(
            hours_90 / (weekly * 90 / 7), abs=0.00005
        )
        for stage in (discovery, demo, proposal):
            in_stage = [
                name
                for name in expected_open(world, username)
                if world.deals[name].stage_id == stage.pk
            ]
            assert int(row[f"Open in {stage.name}"]) == len(in_stage)
    assert rows[0]["Teams"] == "Observability EMEA"


def test_the_csv_follows_the_team_filter(client, world, root, other_team):
    client.force_login(root)
    response = client.get(URL, {"team": other_team.pk, "export": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["Username"] for row in rows] == ["dave"]
    assert float(rows[0]["Hours last 30 days"]) == expected_minutes(world, "dave", 30) / 60


# --- capacity ----------------------------------------------------------------------------------


def test_a_manager_sets_a_capacity_inline(client, world, carol, alice):
    client.force_login(carol)
    response = client.post(
        f"{capacity_url(alice)}?window=30", {"weekly_hours": "32.5"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    capacity = SaCapacity.objects.get(user=alice)
    assert capacity.weekly_hours == Decimal("32.5") and capacity.updated_by == carol
    # The answer is the page body again, its utilisation computed on the new capacity.
    row = next(row for row in response.context["page"].rows if row.load.username == "alice")
    expected = expected_minutes(world, "alice", 30) / 60 / (32.5 * 30 / 7)
    assert row.utilisation == pytest.approx(expected)
    assert 'id="workload-body"' in response.content.decode()
    assert "32.5 hours a week" in response["HX-Trigger"]


def test_a_plain_form_post_redirects_back_with_the_filters(client, world, carol, alice, team):
    client.force_login(carol)
    # The page's form posts with its filters in the query string.
    page = client.get(URL, {"window": "90", "team": team.pk}).context["page"]
    row = next(row for row in page.rows if row.load.username == "alice")
    assert parse_qs(urlsplit(row.capacity_href).query) == {
        "team": [str(team.pk)],
        "window": ["90"],
    }
    response = client.post(row.capacity_href, {"weekly_hours": "20"})
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {
        "team": [str(team.pk)],
        "window": ["90"],
    }
    assert SaCapacity.objects.get(user=alice).weekly_hours == Decimal("20")


def test_a_second_edit_changes_the_same_row(client, world, carol, alice):
    client.force_login(carol)
    for hours in ("30", "0"):
        assert client.post(capacity_url(alice), {"weekly_hours": hours}).status_code == 302
    assert SaCapacity.objects.filter(user=alice).count() == 1
    assert SaCapacity.objects.get(user=alice).weekly_hours == Decimal("0")


@pytest.mark.parametrize("value", ["80.5", "-1", "abc", "37.25", "", "NaN", "1e3"])
def test_bad_hours_are_a_400_with_a_message_and_change_nothing(client, world, carol, alice, value):
    SaCapacity.objects.create(user=alice, weekly_hours=Decimal("35"))
    client.force_login(carol)
    response = client.post(capacity_url(alice), {"weekly_hours": value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    html = response.content.decode()
    assert "a number from 0 to 80" in html
    assert response["HX-Retarget"] == "#workload-body"
    assert SaCapacity.objects.get(user=alice).weekly_hours == Decimal("35")


@pytest.mark.parametrize("persona", ["alice", "bob", "erin", "fred", "nobody"])
def test_others_may_not_set_a_capacity(client, world, request, persona, alice):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(capacity_url(alice), {"weekly_hours": "10"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert not SaCapacity.objects.exists()


def test_an_admin_sets_any_sas_capacity(client, world, root, dave):
    client.force_login(root)
    assert client.post(capacity_url(dave), {"weekly_hours": "16"}).status_code == 302
    assert SaCapacity.objects.get(user=dave).weekly_hours == Decimal("16")


def test_a_capacity_is_for_an_sa(client, world, carol, erin):
    client.force_login(carol)
    assert client.post(capacity_url(erin), {"weekly_hours": "10"}).status_code == 404
    missing = reverse("metrics:workload-capacity", args=[999_999])
    assert client.post(missing, {"weekly_hours": "10"}).status_code == 404
    assert client.get(capacity_url(erin)).status_code == 405


def test_the_service_checks_the_actor_and_the_range(world, carol, fred, alice):
    with pytest.raises(Forbidden):
        services.sa_capacity_set(actor=fred, sa=alice, weekly_hours=10)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.sa_capacity_set(actor=carol, sa=alice, weekly_hours="81")
    assert not SaCapacity.objects.exists()
    assert services.sa_capacity_set(actor=None, sa=alice, weekly_hours="12.5").weekly_hours == (
        Decimal("12.5")
    )


# --- query budget ------------------------------------------------------------------------------


def grow(world, team, n):
    """n more SAs in the team, each with two open deals, an activity and a gap."""
    for _ in range(n):
        sa = factories.UserFactory(role="sa")
        team.members.add(sa)
        for days in (3, 30):
            deal = _deal("Grown", sa, team, world.stages[1], entered_days_ago=days, now=world.now)
            Activity.objects.create(
                opportunity=deal,
                kind="call",
                occurred_at=world.now - timedelta(days=1),
                duration_minutes=30,
            )
            ProductGap.objects.create(opportunity=deal, title="Grown", severity="deal_challenge")


# session, user, roles, the manager's teams, the filter's teams, processes, SAs, stages,
# open deals, hours, gaps, pipeline at risk.
PAGE_QUERIES = 12


def test_the_page_costs_the_same_queries_whatever_the_sas_and_deals(
    client, world, carol, team, django_assert_num_queries
):
    client.force_login(carol)
    people = []
    for extra in (0, 4):
        grow(world, team, extra)
        with django_assert_num_queries(PAGE_QUERIES):
            response = client.get(URL)
        people.append(len(response.context["page"].rows))
        with django_assert_num_queries(PAGE_QUERIES):
            assert client.get(URL, {"export": "csv", "window": "90"}).status_code == 200
    assert people == [2, 6]


def test_the_capacity_edit_costs_the_same_queries_whatever_the_sas(
    client, world, carol, team, alice, django_assert_num_queries
):
    client.force_login(carol)
    # The page's, plus the SA, their roles and teams (3); the current row, the range check and
    # the write (3), in a transaction (in a test: two savepoints, each set and released: 4).
    for extra in (0, 3):
        grow(world, team, extra)
        with django_assert_num_queries(PAGE_QUERIES + 10):
            response = client.post(
                capacity_url(alice), {"weekly_hours": "30"}, HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("drill", "queries"),
    [
        # session, user, roles, teams, the filter's teams, processes, the SA, stages, count, rows
        ("past_target", 10),
        ("hours", 9),
        # no SA to look up
        ("gaps", 8),
    ],
)
def test_the_drilldowns_cost_the_same_queries_whatever_the_deals(
    client, world, carol, team, alice, drill, queries, django_assert_num_queries
):
    client.force_login(carol)
    params = {"drill": drill, "sa": alice.pk, "window": 90}
    if drill == "gaps":
        params = {"drill": drill, "severity": "deal_challenge"}
    sizes = []
    for extra in (0, 3):
        for days in range(extra):
            deal = _deal("More", alice, team, world.stages[0], entered_days_ago=30, now=world.now)
            Activity.objects.create(
                opportunity=deal,
                kind="call",
                occurred_at=world.now - timedelta(days=days + 1),
                duration_minutes=20,
            )
            ProductGap.objects.create(opportunity=deal, title="More", severity="deal_challenge")
        with django_assert_num_queries(queries):
            response = client.get(DEALS_URL, params)
        assert response.status_code == 200
        sizes.append(len(response.context["page"].object_list))
    assert sizes[1] == sizes[0] + 3


def test_a_deal_with_gaps_of_two_severities_counts_once_in_each(world, carol, team):
    ProductGap.objects.create(
        opportunity=world.deals["A-late"], title="Second kind", severity="deal_challenge"
    )
    world.gaps.append(("A-late", "deal_challenge", "open"))
    workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)
    got = {gap.severity: (gap.gaps, gap.deals, gap.amount, gap.unpriced) for gap in workload.gaps}
    expected = expected_gaps(world, team)
    assert got == {
        severity: (row["gaps"], row["deals"], row["amount"], row["unpriced"])
        for severity, row in expected.items()
    }
    # By hand: A-late (10,000) and B-late (10,000) each hold a challenge.
    assert got["deal_challenge"] == (2, 2, 20000.0, 0)
    assert got["deal_breaker"] == (3, 2, 10000.0, 1)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_parts_run_side_by_side_with_the_same_figures(
    world, carol, team, settings
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from metrics import lanes
    from tests.conftest import require_service

    require_service("PostgreSQL", connection.vendor == "postgresql", "lanes are PostgreSQL only")

    def figures():
        workload = selectors.sa_workload(user=carol, teams=[team], now=world.now)
        people = [
            (load.username, load.open_by_stage, load.past_target, load.minutes)
            for load in workload.people
        ]
        gaps = [(g.severity, g.gaps, g.deals, g.amount, g.unpriced) for g in workload.gaps]
        return people, gaps, workload.stages

    settings.METRICS_QUERY_LANES = 1
    one_by_one = figures()
    settings.METRICS_QUERY_LANES = 2
    assert lanes.side_by_side()
    with CaptureQueriesContext(connection) as caller:
        side_by_side = figures()
    assert side_by_side == one_by_one
    assert one_by_one[0][0][3] == {30: 135, 90: 225}  # alice's minutes, as worked out above
    # The caller's connection read the SAs; the rest ran on the lanes.
    assert len(caller.captured_queries) == 1


def test_with_several_processes_the_legend_names_the_stages_sharing_a_colour(
    client, world, carol, team, alice
):
    _, other_stages = factories.make_process(("Scoping", "Pitch"))
    _deal("A-pitch", alice, team, other_stages[1], entered_days_ago=2, now=world.now)
    client.force_login(carol)
    page = client.get(URL).context["page"]
    assert page.several_processes
    # Demo and Pitch come second in their processes (no deal is in Scoping, the first).
    assert [entry.label for entry in page.legend] == ["Discovery", "Demo · Pitch", "Proposal"]
    alice_row = next(row for row in page.rows if row.load.username == "alice")
    pitch = next(s for s in alice_row.segments if s.label.startswith("Pitch"))
    assert pitch.label == f"Pitch ({other_stages[0].process.name} v1)"
    # One process picked: its own stages, no note.
    page = client.get(URL, {"process": world.process.pk}).context["page"]
    assert not page.several_processes
    assert [entry.label for entry in page.legend] == ["Discovery", "Demo", "Proposal"]


def test_the_deals_behind_a_figure_page_with_their_filters_kept(
    client, world, carol, alice, monkeypatch
):
    from metrics import views

    monkeypatch.setattr(views, "WORKLOAD_PAGE_SIZE", 1)
    client.force_login(carol)
    pages = client.get(DEALS_URL, {"drill": "hours", "sa": alice.pk})
    total = pages.context["page"].paginator.count
    assert total == 3  # A-late, A-fresh and A-won have hours in the last 30 days
    html = pages.content.decode()
    link = html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {
        "drill": ["hours"],
        "sa": [str(alice.pk)],
        "page": ["2"],
    }
    second = client.get(f"{DEALS_URL}{link}")
    assert second.context["page"].number == 2
    assert f"Page 2 of {total}" in second.content.decode()
