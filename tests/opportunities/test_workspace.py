"""The deal workspace (sections, one timeline, undo, the words it uses), the live board's
changes endpoint, the create form's account type-ahead and executive, and the public survey's
wording."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from building_blocks.models import BlockUsage, DiscoveryLink
from opportunities import timeline
from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    EsatResponse,
    Opportunity,
    ProductGap,
    StageTransition,
)
from opportunities.services import opportunity_move_to_stage
from opportunities.views.survey import customer_words
from tests import factories
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def _at(minutes_ago: int):
    return timezone.now() - timedelta(minutes=minutes_ago)


def _tick_all(opportunity, stage, by=None):
    for item in stage.items.all():
        ChecklistCompletion.objects.update_or_create(
            opportunity=opportunity,
            item=item,
            defaults={"done": True, "done_at": timezone.now(), "done_by": by},
        )


@pytest.fixture
def history(opportunity, alice, carol, erin, stages):
    """One entry of every kind this app and the building blocks write, at known times."""
    deal = opportunity
    StageTransition.objects.filter(opportunity=deal).update(moved_at=_at(60))
    first = stages[0].items.order_by("position").first()
    ChecklistCompletion.objects.create(
        opportunity=deal,
        item=first,
        done=True,
        done_at=_at(50),
        done_by=alice,
        evidence_url="https://docs.example.com/plan",
    )
    Activity.objects.create(
        opportunity=deal, kind="demo", occurred_at=_at(40), duration_minutes=45, summary="APM demo"
    )
    EsatResponse.objects.create(
        opportunity=deal, stage=stages[0], score=2, comment="Too long", received_at=_at(30)
    )
    ProductGap.objects.create(
        opportunity=deal, title="No mainframe agent", severity="deal_breaker", created_by=alice
    )
    ProductGap.objects.filter(opportunity=deal).update(created_at=_at(20))
    block = make_block(erin, title="Tracing demo")
    BlockUsage.objects.create(
        block=block, opportunity=deal, stage=stages[0], user=alice, at=_at(15)
    )
    moved = opportunity_move_to_stage(
        opportunity=deal, to_stage=stages[1], actor=carol, override_reason="Signed off by email"
    )
    StageTransition.objects.filter(opportunity=deal, to_stage=stages[1]).update(moved_at=_at(10))
    return moved


# --- the timeline ------------------------------------------------------------------------------


def test_the_timeline_holds_every_kind_newest_first(history, alice, carol, stages):
    entries, more = timeline.deal_timeline(history)

    kinds = [entry.kind for entry in entries]
    assert kinds == ["move", "block", "gap", "esat", "activity", "checklist", "move"]
    assert more is False
    times = [entry.at for entry in entries]
    assert times == sorted(times, reverse=True)
    override = entries[0]
    assert override.title == f"Moved {stages[0].name} → {stages[1].name}"
    assert "override" in override.flags and "Signed off by email" in override.detail
    assert override.who == carol
    # Still open when the gate was overridden: the second required item.
    assert f"{stages[0].name} item 2" in override.detail
    tick = entries[5]
    assert (tick.who, tick.url, tick.link_text) == (
        alice,
        "https://docs.example.com/plan",
        "evidence",
    )
    assert entries[3].title == f"ESAT 2/5 after {stages[0].name}" and "low" in entries[3].flags
    assert entries[4].title == "Demo · 45 min"
    assert entries[1].url == reverse(
        "building_blocks:block-detail", args=[BlockUsage.objects.get().block_id]
    )


def test_the_timeline_filters_by_kind_and_pages_back(history):
    moves, _ = timeline.deal_timeline(history, kinds=["move"])
    assert [entry.kind for entry in moves] == ["move", "move"]

    first, more = timeline.deal_timeline(history, limit=3)
    assert more is True and len(first) == 3
    rest, more = timeline.deal_timeline(history, before=first[-1].at, limit=3)
    assert [e.kind for e in first + rest][:6] == [
        "move",
        "block",
        "gap",
        "esat",
        "activity",
        "checklist",
    ]
    assert all(entry.at < first[-1].at for entry in rest)


def test_discovery_links_show_in_the_timeline(opportunity, alice):
    from building_blocks.models import BusinessChallenge, TechnicalNeed

    challenge = BusinessChallenge.objects.create(title="Outages hurt revenue", slug="outages")
    need = TechnicalNeed.objects.create(title="Distributed tracing", slug="tracing")
    DiscoveryLink.objects.create(
        opportunity=opportunity,
        challenge=challenge,
        need=need,
        direction="top_down",
        created_by=alice,
    )
    entries, _ = timeline.deal_timeline(opportunity, kinds=["discovery"])
    assert [entry.title for entry in entries] == [
        "Discovery: Outages hurt revenue → Distributed tracing"
    ]
    assert entries[0].who == alice and "Top-down" in entries[0].flags


def test_the_timeline_fragment_filters_and_answers_bad_input_with_400(client, alice, history):
    client.force_login(alice)
    url = reverse("opportunities:timeline", args=[history.pk])

    html = client.get(url, {"kind": ["gap", "esat", "nonsense"]}, headers=HTMX).content.decode()
    assert re.findall(r'data-kind="(\w+)"', html) == ["gap", "esat"]
    assert 'value="gap" checked' in html and 'value="move" checked' not in html

    bad = client.get(url, {"before": "yesterday"}, headers=HTMX)
    assert bad.status_code == 400 and "must be a date and time" in bad.content.decode()
    # The page itself shrugs off a bad ?before= and shows the newest entries.
    page = client.get(
        reverse("opportunities:opportunity-detail", args=[history.pk]), {"before": "x"}
    )
    assert page.status_code == 200 and "No mainframe agent" in page.content.decode()

    plain = client.get(url, {"kind": "gap"})
    assert plain.status_code == 302 and plain["Location"].endswith("?kind=gap#timeline")


def test_older_entries_come_as_items_only(client, alice, history):
    client.force_login(alice)
    url = reverse("opportunities:timeline", args=[history.pk])
    before = timezone.now() - timedelta(minutes=35)
    html = client.get(url, {"before": before.isoformat()}, headers=HTMX).content.decode()
    assert not html.lstrip().startswith("<div")
    assert re.findall(r'data-kind="(\w+)"', html) == ["activity", "checklist", "move"]


def test_another_teams_sa_gets_no_timeline(client, dave, history):
    client.force_login(dave)
    url = reverse("opportunities:timeline", args=[history.pk])
    assert client.get(url, headers=HTMX).status_code == 404


# session, user, roles, teams, the deal; one per kind of entry (9 with the sync jobs' Vivun
# deliverables and Google Drive documents)
TIMELINE_QUERIES = 5 + 9


def test_the_timeline_query_count_is_constant(
    client, django_assert_num_queries, alice, opportunity, stages
):
    client.force_login(alice)
    url = reverse("opportunities:timeline", args=[opportunity.pk])
    for extra in (0, 1, 8):
        for index in range(extra):
            Activity.objects.create(opportunity=opportunity, kind="call", occurred_at=_at(index))
            ProductGap.objects.create(
                opportunity=opportunity, title=f"gap {index}", severity="nice_to_have"
            )
        with django_assert_num_queries(TIMELINE_QUERIES):
            assert client.get(url, headers=HTMX).status_code == 200


# --- the page: sections, undo, words -----------------------------------------------------------


def test_the_deal_page_has_a_sticky_head_and_five_sections(client, alice, history):
    client.force_login(alice)
    html = client.get(
        reverse("opportunities:opportunity-detail", args=[history.pk])
    ).content.decode()
    tabs = re.findall(r'<a href="#([\w-]+)" data-tab=', html)
    assert tabs == ["guide", "discovery", "timeline", "qualification-tab", "details"]
    for section in tabs:
        assert f'id="{section}"' in html
    assert html.count('class="deal-head opportunity-head"') == 1
    assert "No mainframe agent" in html  # the timeline is in the page, not loaded later


def test_the_undo_bar_follows_my_own_move_for_ten_seconds(client, alice, opportunity, stages):
    _tick_all(opportunity, stages[0])
    client.force_login(alice)
    detail = reverse("opportunities:opportunity-detail", args=[opportunity.pk])
    client.post(
        reverse("opportunities:opportunity-move", args=[opportunity.pk]),
        {"stage": stages[1].pk},
        headers=HTMX,
    )
    html = client.get(detail).content.decode()
    assert f"Undo (back to {stages[0].name})" in html

    opportunity.refresh_from_db()
    response = client.post(
        reverse("opportunities:opportunity-move", args=[opportunity.pk]),
        {"stage": stages[0].pk, "expected_version": opportunity.version, "note": "Undo"},
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert opportunity.stage_id == stages[0].pk
    back = StageTransition.objects.filter(opportunity=opportunity).latest("pk")
    assert (back.from_stage_id, back.to_stage_id, back.moved_by_id) == (
        stages[1].pk,
        stages[0].pk,
        alice.pk,
    )

    # Ten seconds later the offer is gone.
    StageTransition.objects.filter(opportunity=opportunity).update(moved_at=_at(1))
    assert "Undo (back to" not in client.get(detail).content.decode()


def test_no_undo_for_someone_elses_move(client, alice, carol, opportunity, stages):
    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=carol, override_reason="ok"
    )
    client.force_login(alice)
    html = client.get(reverse("opportunities:opportunity-detail", args=[opportunity.pk])).content
    assert b"Undo (back to" not in html


def _tick(client, opportunity, item, **data):
    return client.post(
        reverse("opportunities:checklist-item", args=[opportunity.pk, item.pk]), data, headers=HTMX
    )


def test_checklist_messages_say_what_changed(client, alice, opportunity, stages):
    item = stages[0].items.order_by("position").first()
    client.force_login(alice)

    said = json.loads(_tick(client, opportunity, item, done="1")["HX-Trigger"])
    assert said["epos:toast"]["message"] == f"“{item.title}” done." and "epos:deal-changed" in said
    said = json.loads(
        _tick(client, opportunity, item, evidence_url="https://x.example/doc")["HX-Trigger"]
    )
    assert said["epos:toast"]["message"] == f"“{item.title}” is open again."
    said = json.loads(
        _tick(client, opportunity, item, evidence_url="https://x.example/doc", note="v2")[
            "HX-Trigger"
        ]
    )
    assert said["epos:toast"]["message"] == f"Evidence and note saved for “{item.title}”."
    completion = ChecklistCompletion.objects.get(opportunity=opportunity, item=item)
    assert (completion.done, completion.note) == (False, "v2")


def test_a_tick_in_the_gate_dialog_adds_no_message_of_its_own(client, alice, opportunity, stages):
    item = stages[0].items.order_by("position").first()
    client.force_login(alice)
    response = _tick(client, opportunity, item, done="1", variant="dialog")
    said = json.loads(response["HX-Trigger"])
    assert "epos:toast" not in said and "epos:deal-changed" in said
    assert ChecklistCompletion.objects.get(opportunity=opportunity, item=item).done


def test_the_gate_dialog_holds_its_move_button_until_the_items_are_ticked(
    client, alice, opportunity, stages
):
    first = stages[0].items.order_by("position").first()
    ChecklistCompletion.objects.create(opportunity=opportunity, item=first, done=True)
    client.force_login(alice)
    response = client.post(
        reverse("opportunities:opportunity-move", args=[opportunity.pk]),
        {"stage": stages[1].pk, "board_query": ""},
        headers=HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert re.search(r"data-gate-submit disabled", html)
    assert re.search(r"Tick the <span data-gate-open>1</span> open item above", html)


# --- the live board ------------------------------------------------------------------------------


def _changes(client, process, since, **params):
    return client.get(
        reverse("opportunities:board-changes", args=[process.slug]),
        {"since": f"{since:.3f}", **params},
        headers=HTMX,
    )


def _long_ago():
    StageTransition.objects.update(moved_at=_at(60))


def test_the_board_says_nothing_changed_with_204(client, alice, opportunity, process):
    _long_ago()
    client.force_login(alice)
    response = _changes(client, process, timezone.now().timestamp())
    assert response.status_code == 204
    assert float(response["X-Board-Since"]) == pytest.approx(timezone.now().timestamp(), abs=5)


def test_another_users_move_comes_as_a_card_with_fresh_heads(
    client, alice, carol, opportunity, process, stages
):
    client.force_login(alice)
    since = timezone.now().timestamp()
    moved = opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=carol, override_reason="ok"
    )
    response = _changes(client, process, since, owner="any")
    html = response.content.decode()
    assert response.status_code == 200
    assert re.findall(
        r'<template data-card="(\d+)" data-stage="(\d+)" data-version="(\d+)"', html
    ) == [(str(moved.pk), str(stages[1].pk), str(moved.version))]
    heads = dict(
        re.findall(r'data-column-head="(\d+)">.*?class="column-count"[^>]*>(\d+)<', html, re.S)
    )
    assert heads[str(stages[0].pk)] == "0" and heads[str(stages[1].pk)] == "1"


def test_a_card_that_left_the_filtered_board_is_gone(
    client, alice, bob, carol, team, opportunity, process, stages
):
    client.force_login(alice)
    since = timezone.now().timestamp()
    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=carol, override_reason="ok"
    )
    html = _changes(client, process, since, owner=str(bob.pk)).content.decode()
    assert f'<template data-gone="{opportunity.pk}">' in html and "data-card=" not in html


def test_an_outsiders_board_never_sees_the_card(client, dave, carol, opportunity, process, stages):
    client.force_login(dave)
    since = timezone.now().timestamp()
    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=carol, override_reason="ok"
    )
    html = _changes(client, process, since).content.decode()
    assert "data-card=" not in html and opportunity.name not in html


@pytest.mark.parametrize("since", ["", "nan", "inf", "-1", "1e30", "yesterday"])
def test_a_missing_or_odd_since_asks_for_a_fresh_board(client, alice, process, since):
    client.force_login(alice)
    response = client.get(
        reverse("opportunities:board-changes", args=[process.slug]), {"since": since}
    )
    assert response.status_code == 205 and response["X-Board-Reload"] == "1"


def test_an_old_since_asks_for_a_fresh_board_instead_of_scanning_history(client, alice, process):
    client.force_login(alice)
    old = (timezone.now() - timedelta(hours=2)).timestamp()
    assert _changes(client, process, old).status_code == 205


def test_asking_for_a_card_brings_it_without_a_move(client, alice, opportunity, process, stages):
    client.force_login(alice)
    html = _changes(client, process, timezone.now().timestamp(), card=str(opportunity.pk)).content
    assert f'data-card="{opportunity.pk}"'.encode() in html


# session, user, roles, process, moves since
CHANGES_IDLE_QUERIES = 5
# + stages, the user's teams (for the cards' visibility), the changed cards, the column totals
CHANGES_QUERIES = CHANGES_IDLE_QUERIES + 4


def test_the_changes_query_count_is_constant(
    client, django_assert_num_queries, alice, carol, team, process, stages
):
    _long_ago()
    client.force_login(alice)
    since = timezone.now().timestamp()
    with django_assert_num_queries(CHANGES_IDLE_QUERIES):
        assert _changes(client, process, since).status_code == 204
    for count in (1, 6):
        deals = [
            factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
            for _ in range(count)
        ]
        for deal in deals:
            opportunity_move_to_stage(
                opportunity=deal, to_stage=stages[1], actor=carol, override_reason="ok"
            )
        with django_assert_num_queries(CHANGES_QUERIES):
            html = _changes(client, process, since).content.decode()
        assert all(f'data-card="{deal.pk}"' in html for deal in deals)


def test_column_heads_show_the_weighted_amount(client, alice, team, process, stages):
    for amount in ("10000", "30000"):
        factories.OpportunityFactory(
            stage=stages[1], owner=alice, team=team, amount=Decimal(amount)
        )
    factories.OpportunityFactory(stage=stages[1], owner=alice, team=team, amount=None)
    client.force_login(alice)
    html = client.get(reverse("opportunities:board", args=[process.slug])).content.decode()
    head = re.search(rf'id="column-head-{stages[1].pk}".*?</header>', html, re.S).group(0)
    expected = 40000 * stages[1].probability / 100  # the unknown amount adds nothing
    assert f"weighted {expected / 1000:g}k" in head


def test_cards_show_the_next_planned_activity(client, alice, opportunity, process):
    Activity.objects.create(opportunity=opportunity, kind="meeting", occurred_at=_at(60))
    soon = timezone.now() + timedelta(days=3)
    later = timezone.now() + timedelta(days=9)
    for when in (later, soon):
        Activity.objects.create(opportunity=opportunity, kind="meeting", occurred_at=when)
    client.force_login(alice)
    html = client.get(reverse("opportunities:board", args=[process.slug])).content.decode()
    local = timezone.localtime(soon)
    assert f"Next {local.day} {local:%b}</span>" in html


@pytest.mark.parametrize(
    ("user", "params", "title"),
    [
        ("alice", {}, "My board"),
        ("alice", {"owner": "any"}, "My teams’ deals"),
        ("carol", {}, "My teams’ deals"),
        ("root", {}, "Everyone’s deals"),
        ("erin", {}, "Everyone’s deals"),
    ],
)
def test_the_board_title_says_whose_deals_it_shows(
    client, request, opportunity, user, params, title
):
    client.force_login(request.getfixturevalue(user))
    html = client.get(reverse("opportunities:home"), params).content.decode()
    assert f"<h1>{title}</h1>" in html


# --- the create form -----------------------------------------------------------------------------


def _create(client, process, **fields):
    data = {"process": process.pk, "name": "New deal", "currency": "USD", "use_case": "other"}
    return client.post(reverse("opportunities:opportunity-create"), {**data, **fields})


def test_a_typed_existing_account_name_links_that_account(client, alice, bob, process):
    account = factories.AccountFactory(name="Globex")
    client.force_login(alice)
    response = _create(client, process, new_account_name="globex", account_executive=bob.pk)
    assert response.status_code == 302
    deal = Opportunity.objects.get(name="New deal")
    assert (deal.account, deal.account_executive, deal.amount) == (account, bob, None)
    assert Account.objects.count() == 1


def test_a_new_name_creates_the_account_and_a_shared_name_must_be_picked(client, alice, process):
    first = factories.AccountFactory(name="Initech")
    second = factories.AccountFactory(name="Initech")
    client.force_login(alice)
    response = _create(client, process, new_account_name="Initech")
    assert response.status_code == 200
    assert "Several accounts are named “Initech”" in response.content.decode()
    assert not Opportunity.objects.exists()

    assert _create(client, process, new_account_name=f"Initech · #{second.pk}").status_code == 302
    assert Opportunity.objects.get().account == second != first

    assert _create(client, process, name="Other", new_account_name="Hooli").status_code == 302
    assert Opportunity.objects.get(name="Other").account.name == "Hooli"


def test_an_executive_outside_my_teams_is_refused(client, alice, dave, process):
    client.force_login(alice)
    response = _create(client, process, account_executive=dave.pk)
    assert response.status_code == 200 and not Opportunity.objects.exists()
    assert "Select a valid choice" in response.content.decode()


def test_the_account_type_ahead_offers_names_with_numbers_when_they_repeat(client, alice):
    factories.AccountFactory(name="Acme")
    twins = [factories.AccountFactory(name="Acme Labs") for _ in range(2)]
    factories.AccountFactory(name="Zeta")
    client.force_login(alice)
    html = client.get(
        reverse("opportunities:account-suggest"), {"new_account_name": "acme"}, headers=HTMX
    ).content.decode()
    assert re.findall(r'<option value="([^"]+)">', html) == [
        "Acme",
        f"Acme Labs · #{twins[0].pk}",
        f"Acme Labs · #{twins[1].pk}",
    ]
    empty = client.get(reverse("opportunities:account-suggest"), {"q": "\x00"}).content
    assert b"<option" not in empty


def test_the_type_ahead_query_count_is_constant(client, django_assert_num_queries, alice):
    client.force_login(alice)
    for count in (1, 30):
        for index in range(count):
            factories.AccountFactory(name=f"Northwind {index}")
        with django_assert_num_queries(4):  # session, user, roles, accounts
            html = client.get(reverse("opportunities:account-suggest"), {"q": "north"}).content
        assert html.count(b"<option") == min(10, Account.objects.count())


def test_a_curator_gets_no_account_suggestions(client, erin):
    client.force_login(erin)
    assert client.get(reverse("opportunities:account-suggest"), {"q": "a"}).status_code in (
        200,
        403,
    )


# --- the public survey --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "words"),
    [
        ("Demo (D2W)", "demo"),
        ("Proof of concept", "proof of concept"),
        ("Technical Q&A", "technical Q&A"),
        ("POC", "POC"),
        ("(internal)", "work"),
    ],
)
def test_stages_are_said_in_the_customers_words(stage, words):
    assert customer_words(stage) == words


def test_the_survey_page_uses_the_deal_name_without_codes(client, alice, team, stages):
    from opportunities.services import esat_invitation_create

    stages[0].name = "Demo (D2W)"
    stages[0].save()
    account = factories.AccountFactory(name="Harbor Logistics")
    deal = factories.OpportunityFactory(
        name="Harbor Logistics – Kubernetes monitoring",
        account=account,
        stage=stages[0],
        owner=alice,
        team=team,
    )
    invitation = esat_invitation_create(
        opportunity=deal,
        actor=alice,
        email="cto@example.com",
        survey_url=lambda token: f"http://testserver/survey/{token}/",
    )
    html = client.get(invitation.survey_link).content.decode()
    deal_words = "<strong>Harbor Logistics – Kubernetes monitoring</strong>."
    assert f"with our <strong>demo</strong> on {deal_words}" in html
    assert "D2W" not in html
