"""My day: an SA's late deals, open required items and next meetings; a curator's review queue.

The expected lists are worked out here from how each deal was set up, not read back through
the selectors under test.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from building_blocks import services as block_services
from opportunities.models import Activity, ChecklistCompletion
from opportunities.myday import my_day
from tests import factories
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db

URL = reverse("opportunities:my-day")
HTMX = {"HTTP_HX_REQUEST": "true"}
# session, user, roles, the user's teams (what they may see); the ids of the stages of the SA's
# open deals, those stages (with their required items), the deals past target, the deals
# owing required items, those items, the items done, the next meetings.
SA_QUERIES = 11
# session, user, roles; the blocks in review.
CURATOR_QUERIES = 4


def _deal(owner, team, stage, *, days_in_stage, **fields):
    entered = timezone.now() - timedelta(days=days_in_stage)
    return factories.OpportunityFactory(
        owner=owner, team=team, stage=stage, created_at=entered, **fields
    )


def _tick(deal, item):
    ChecklistCompletion.objects.create(opportunity=deal, item=item, done=True)


def _meeting(deal, *, in_hours, kind=Activity.Kind.MEETING, summary="Call plan"):
    return Activity.objects.create(
        opportunity=deal,
        kind=kind,
        occurred_at=timezone.now() + timedelta(hours=in_hours),
        duration_minutes=60,
        summary=summary,
    )


@pytest.fixture
def board(alice, bob, team, process, stages):
    """Discovery has a 14-day target, Demo 5 days, Proposal none; each has two required items."""
    discovery, demo, proposal, won = stages[0], stages[1], stages[2], stages[3]
    demo.target_days = 5
    demo.save(update_fields=["target_days"])
    proposal.target_days = None
    proposal.save(update_fields=["target_days"])
    deals = {
        "late": _deal(alice, team, discovery, days_in_stage=20, name="Late discovery"),
        "fresh": _deal(alice, team, discovery, days_in_stage=3, name="Fresh discovery"),
        "late_demo": _deal(alice, team, demo, days_in_stage=6, name="Late demo"),
        "untimed": _deal(alice, team, proposal, days_in_stage=90, name="Untimed proposal"),
        "won": _deal(
            alice,
            team,
            won,
            days_in_stage=60,
            name="Won long ago",
            outcome="won",
            closed_at=timezone.now() - timedelta(days=60),
        ),
        "bobs": _deal(bob, team, discovery, days_in_stage=30, name="Bob's late deal"),
    }
    items = {stage.pk: list(stage.items.order_by("position", "pk")) for stage in stages[:3]}
    _tick(deals["late"], items[discovery.pk][0])
    for item in items[discovery.pk]:
        _tick(deals["fresh"], item)
    for item in items[proposal.pk]:
        _tick(deals["untimed"], item)
    # Done on another stage's item: it does not count for the deal's current stage.
    _tick(deals["late_demo"], items[discovery.pk][0])
    return {"deals": deals, "items": items, "stages": stages}


def _expected_late(deals, now):
    return [
        deal
        for deal in sorted(deals, key=lambda d: d.stage_entered_at)
        if deal.outcome == "open"
        and deal.stage.target_days
        and now - deal.stage_entered_at > timedelta(days=deal.stage.target_days)
    ]


def test_past_target_lists_my_open_deals_beyond_their_stages_target(alice, board):
    now = timezone.now()
    mine = [deal for key, deal in board["deals"].items() if key != "bobs"]

    day = my_day(user=alice, now=now)

    assert [deal.name for deal in day.past_target] == [d.name for d in _expected_late(mine, now)]
    assert [deal.name for deal in day.past_target] == ["Late discovery", "Late demo"]
    assert [round(deal.days_in_stage) for deal in day.past_target] == [20, 6]


def test_open_required_items_are_those_of_each_deals_current_stage_not_done(alice, board):
    items, deals = board["items"], board["deals"]
    expected = {}
    for key in ("late", "fresh", "late_demo", "untimed"):
        deal = deals[key]
        done = set(
            ChecklistCompletion.objects.filter(opportunity=deal, done=True).values_list(
                "item_id", flat=True
            )
        )
        open_items = [item.title for item in items[deal.stage_id] if item.pk not in done]
        if open_items:
            expected[deal.name] = open_items

    day = my_day(user=alice, now=timezone.now())

    got = {entry.opportunity.name: [item.title for item in entry.items] for entry in day.open_items}
    assert got == expected
    assert got == {
        "Late discovery": ["Discovery item 2"],
        "Late demo": ["Demo item 1", "Demo item 2"],
    }
    assert day.open_item_count == 3


def test_each_list_shows_its_first_deals_and_counts_them_all(client, alice, board):
    day = my_day(user=alice, now=timezone.now(), limit=1)

    assert [deal.name for deal in day.past_target] == ["Late discovery"]
    assert (day.past_target_total, day.past_target_more) == (2, 1)
    assert [entry.opportunity.name for entry in day.open_items] == ["Late discovery"]
    assert (day.open_item_deals, day.open_items_more, day.open_item_count) == (2, 1, 3)


def test_the_fragment_links_to_the_rest_when_a_list_is_cut(client, alice, team, stages):
    for index in range(10):
        _deal(alice, team, stages[0], days_in_stage=20 + index, name=f"Stuck {index}")
    client.force_login(alice)

    html = client.get(URL, **HTMX).content.decode()

    assert "10 past target" in html
    assert html.count("Stuck ") == 8 + 8  # the first eight in each list
    assert "and 2 more:" in html and "and 2 more deals:" in html
    assert f"?owner={alice.pk}&amp;outcome=open" in html


def test_next_meetings_are_my_open_deals_meetings_still_to_come_soonest_first(alice, board):
    deals = board["deals"]
    later = _meeting(deals["late"], in_hours=30, kind=Activity.Kind.DEMO, summary="Demo")
    sooner = _meeting(deals["fresh"], in_hours=2, summary="Workshop planning")
    _meeting(deals["fresh"], in_hours=-2)  # over
    _meeting(deals["fresh"], in_hours=5, kind=Activity.Kind.EMAIL)  # no time in a calendar
    _meeting(deals["won"], in_hours=3)  # the deal is closed
    _meeting(deals["bobs"], in_hours=1)  # bob's

    day = my_day(user=alice, now=timezone.now())

    assert [activity.pk for activity in day.meetings] == [sooner.pk, later.pk]


def test_only_my_own_deals_show_even_to_a_teammate_who_sees_them(alice, bob, board):
    day = my_day(user=bob, now=timezone.now())

    assert [deal.name for deal in day.past_target] == ["Bob's late deal"]
    assert [entry.opportunity.name for entry in day.open_items] == ["Bob's late deal"]
    assert not any(
        deal.owner_id == alice.pk
        for deal in day.past_target + [e.opportunity for e in day.open_items]
    )


def test_an_outsider_sees_none_of_alices_deals(client, dave, board):
    client.force_login(dave)
    html = client.get(URL, **HTMX).content.decode()

    for deal in board["deals"].values():
        assert deal.name not in html
    assert "0 past target" in html


def test_the_fragment_shows_the_sections_and_the_summary_line(client, alice, board):
    _meeting(board["deals"]["late"], in_hours=2, summary="Qualification call")
    client.force_login(alice)

    response = client.get(URL, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert response.templates[0].name == "opportunities/partials/_my_day.html"
    assert "<html" not in html
    summary = re.search(r'<summary class="myday-summary">(.*?)</summary>', html, re.S).group(1)
    assert "2 past target" in summary and "3 items open" in summary and "next " in summary
    for name in ("Late discovery", "Late demo", "Qualification call", "Discovery item 2"):
        assert name in html
    for name in ("Fresh discovery", "Untimed proposal", "Won long ago", "Bob's late deal"):
        assert name not in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_without_htmx_it_is_a_page_of_its_own(client, alice, board):
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>My day</h1>" in html
    assert '<details id="my-day" class="myday" open>' in html


def test_the_sa_fragment_reads_a_fixed_number_of_queries(
    client, alice, team, stages, django_assert_num_queries
):
    client.force_login(alice)
    sizes = []
    for extra in (1, 12):
        for index in range(extra):
            deal = _deal(alice, team, stages[index % 3], days_in_stage=30 + index)
            _meeting(deal, in_hours=index + 1)
        with django_assert_num_queries(SA_QUERIES):
            response = client.get(URL, **HTMX)
        assert response.status_code == 200
        sizes.append(response.content.decode().count("<li>"))
    assert sizes[1] > sizes[0]


def test_an_sa_with_no_open_deal_gets_two_queries_for_the_deals(
    client, alice, django_assert_num_queries
):
    client.force_login(alice)
    # session, user, roles, teams; the stage ids of the open deals (none), the next meetings.
    with django_assert_num_queries(6):
        html = client.get(URL, **HTMX).content.decode()
    assert "0 past target" in html and "Nothing booked on your open deals." in html


# --- curators -----------------------------------------------------------------------------------


@pytest.fixture
def frank(db):
    return factories.UserFactory(
        username="frank", first_name="Frank", last_name="Fox", role="curator"
    )


def _in_review(author, title):
    block = make_block(author, title=title)
    return block_services.block_submit(block=block, actor=author)


def test_a_curator_sees_the_blocks_others_wrote_to_review_and_their_own_waiting(
    client, erin, frank
):
    franks = _in_review(frank, "Frank's sizing sheet")
    _in_review(erin, "Erin's demo script")
    make_block(frank, title="Frank's draft")  # a draft waits for nobody
    client.force_login(erin)

    html = client.get(URL, **HTMX).content.decode()

    section = html[html.index('id="myday-reviews"') :]
    assert "Frank&#x27;s sizing sheet" in section
    assert reverse("building_blocks:block-detail", args=[franks.pk]) in section
    assert "Erin&#x27;s demo script" not in section
    assert "1 of yours waits for another curator." in section
    assert "Frank&#x27;s draft" not in html
    assert "1 block to review" in html
    assert "past target" not in html  # a curator owns no deals


def test_what_a_curator_is_shown_to_review_they_may_approve(erin, frank):
    _in_review(frank, "Frank's sizing sheet")
    _in_review(erin, "Erin's demo script")
    day = my_day(user=erin, now=timezone.now())
    (part,) = day.sections

    for block in part.data.to_review:
        published = block_services.block_approve(block=block, actor=erin)
        assert published.status == "published"
    assert [block.title for block in part.data.own] == ["Erin's demo script"]


def test_the_curator_fragment_reads_a_fixed_number_of_queries(
    client, erin, frank, django_assert_num_queries
):
    client.force_login(erin)
    sizes = []
    for extra in (1, 8):
        for index in range(extra):
            _in_review(frank, f"Block {extra}-{index}")
        with django_assert_num_queries(CURATOR_QUERIES):
            response = client.get(URL, **HTMX)
        assert response.status_code == 200
        sizes.append(response.content.decode().count("<li>"))
    assert sizes == [1, 9]


def test_an_sa_has_no_review_queue_and_a_manager_has_nothing(client, alice, carol, frank):
    _in_review(frank, "Frank's sizing sheet")
    assert my_day(user=alice, now=timezone.now()).sections == []
    day = my_day(user=carol, now=timezone.now())
    assert day.is_empty
    client.force_login(carol)
    assert "Nothing for you here yet." in client.get(URL, **HTMX).content.decode()


# --- the home page ------------------------------------------------------------------------------


def test_the_home_page_loads_my_day_after_the_board_for_an_sa_only(client, alice, carol, process):
    home = reverse("opportunities:home")
    slot = f'hx-get="{URL}" hx-trigger="load"'
    client.force_login(alice)
    assert slot in client.get(home).content.decode()
    board = reverse("opportunities:board", args=[process.slug])
    assert slot not in client.get(board).content.decode()
    client.force_login(carol)
    assert slot not in client.get(home).content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL, **HTMX)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
