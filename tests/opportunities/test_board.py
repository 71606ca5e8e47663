"""The stage board: columns, cards, totals, load-more, filters, visibility and query budget."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from opportunities import selectors
from opportunities.models import ChecklistCompletion, Opportunity
from opportunities.selectors import BOARD_PAGE_SIZE, BoardFilters
from opportunities.services import opportunity_move_to_stage
from tests import factories

pytestmark = pytest.mark.django_db

# session, user, roles, teams, process, owner choices, team choices, process switcher, stages,
# column totals, cards.
BOARD_QUERIES = 11


def _board(client, process, **params):
    return client.get(reverse("opportunities:board", args=[process.slug]), params)


def _deals(n, *, stage, owner, team, **fields):
    return [
        factories.OpportunityFactory(stage=stage, owner=owner, team=team, **fields)
        for _ in range(n)
    ]


def _card_ids(html: str, stage_id: int) -> list[int]:
    """The opportunity ids of the cards inside one column's list, in order."""
    match = re.search(
        rf'<div class="cards" data-sortable data-stage-id="{stage_id}"[^>]*>(.*?)</div>\s*<p',
        html,
        re.S,
    )
    assert match, f"no card list for stage {stage_id}"
    return [int(pk) for pk in re.findall(r'data-opportunity-id="(\d+)"', match.group(1))]


def _column_head(html: str, stage_id: int) -> str:
    match = re.search(
        rf'<header class="column-head" id="column-head-{stage_id}".*?</header>', html, re.S
    )
    assert match
    return match.group(0)


def test_board_has_one_column_per_stage_including_won_and_lost(client, alice, process, stages):
    client.force_login(alice)
    html = _board(client, process).content.decode()
    column_ids = re.findall(r'<section class="column[^"]*" data-stage-id="(\d+)"', html)
    assert column_ids == [str(stage.pk) for stage in stages]
    assert 'data-stage-kind="won"' in html and 'data-stage-kind="lost"' in html


def test_cards_show_name_account_amount_initials_age_progress_and_use_case(
    client, alice, team, process, stages
):
    deal = factories.OpportunityFactory(
        name="Acme SIEM",
        stage=stages[0],
        owner=alice,
        team=team,
        amount=Decimal("12500"),
        use_case="security",
        stage_entered_at=timezone.now() - timedelta(days=20),
    )
    first_item = stages[0].items.order_by("position").first()
    ChecklistCompletion.objects.create(opportunity=deal, item=first_item, done=True)
    client.force_login(alice)
    html = _board(client, process).content.decode()
    card = re.search(rf'<article class="card[^"]*" id="card-{deal.pk}".*?</article>', html, re.S)
    assert card, "the card is missing"
    card = card.group(0)
    assert f'data-opportunity-id="{deal.pk}"' in card
    assert "Acme SIEM" in card and deal.account.name in card
    assert "12.5k USD" in card
    assert ">AA<" in card  # Alice Archer
    # 20 days against a 14-day target: flagged as over.
    assert 'class="age age-over"' in card and ">20 d<" in card
    assert '<span class="progress" title="Required items done">✓ 1/2</span>' in card
    assert "Security" in card


def test_a_card_with_every_required_item_done_is_marked_ready(client, alice, team, process, stages):
    deal = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
    for item in stages[0].items.all():
        ChecklistCompletion.objects.create(opportunity=deal, item=item, done=True)
    client.force_login(alice)
    html = _board(client, process).content.decode()
    assert 'class="progress ready"' in html and "✓ 2/2" in html


def test_column_headers_count_and_sum_on_the_server(client, alice, team, process, stages):
    _deals(3, stage=stages[0], owner=alice, team=team, amount=Decimal("1000"))
    _deals(2, stage=stages[1], owner=alice, team=team, amount=Decimal("2500000"))
    client.force_login(alice)
    html = _board(client, process).content.decode()
    first, second, third = (_column_head(html, s.pk) for s in stages[:3])
    assert '">3</span>' in first and "3k USD" in first
    assert '">2</span>' in second and "5M USD" in second
    assert '">0</span>' in third


def test_each_column_shows_25_cards_and_loads_the_rest_on_demand(
    client, alice, team, process, stages
):
    deals = _deals(BOARD_PAGE_SIZE + 2, stage=stages[0], owner=alice, team=team)
    client.force_login(alice)
    html = _board(client, process).content.decode()
    shown = _card_ids(html, stages[0].pk)
    assert len(shown) == BOARD_PAGE_SIZE
    assert "Show more" in html and "27 in all" in html
    more = client.get(
        reverse("opportunities:board-column", args=[process.slug, stages[0].pk]),
        {"offset": BOARD_PAGE_SIZE, "owner": "any"},
        HTTP_HX_REQUEST="true",
    )
    assert more.status_code == 200
    rest = [int(pk) for pk in re.findall(r'data-opportunity-id="(\d+)"', more.content.decode())]
    assert len(rest) == 2
    assert set(shown) | set(rest) == {deal.pk for deal in deals}
    assert f'id="more-{stages[0].pk}" hx-swap-oob="true"></div>' in more.content.decode()


def test_board_cards_selector_ranks_every_column_in_one_query(alice, team, process, stages):
    _deals(BOARD_PAGE_SIZE + 3, stage=stages[0], owner=alice, team=team)
    _deals(4, stage=stages[1], owner=alice, team=team)
    selectors.opportunity_list(user=alice).exists()  # roles and teams are read once per user
    with CaptureQueriesContext(connection) as captured:
        cards = selectors.board_cards(user=alice, process=process, filters=BoardFilters())
    assert len(captured.captured_queries) == 1
    assert "ROW_NUMBER() OVER (PARTITION BY" in captured.captured_queries[0]["sql"]
    per_stage = {}
    for card in cards:
        per_stage[card.stage_id] = per_stage.get(card.stage_id, 0) + 1
    assert per_stage == {stages[0].pk: BOARD_PAGE_SIZE, stages[1].pk: 4}


def test_board_query_count_is_constant(
    client, django_assert_num_queries, alice, team, process, stages
):
    client.force_login(alice)
    sizes = []
    for extra in (2, 40):
        for index in range(extra):
            deal = factories.OpportunityFactory(stage=stages[index % 3], owner=alice, team=team)
            item = stages[index % 3].items.first()
            ChecklistCompletion.objects.create(opportunity=deal, item=item, done=True)
        with django_assert_num_queries(BOARD_QUERIES):
            response = _board(client, process)
        assert response.status_code == 200
        sizes.append(len(re.findall(r'data-opportunity-id="', response.content.decode())))
    assert sizes[1] > sizes[0]


def test_home_query_count_is_constant(
    client, django_assert_num_queries, alice, team, process, stages
):
    client.force_login(alice)
    for extra in (1, 30):
        _deals(extra, stage=stages[1], owner=alice, team=team)
        # The most-used process replaces the process lookup: the same budget.
        with django_assert_num_queries(BOARD_QUERIES):
            assert client.get(reverse("opportunities:home")).status_code == 200


def test_home_is_the_sas_own_deals_in_the_process_they_use_most(
    client, alice, bob, team, process, stages
):
    other_process, other_stages = factories.make_process(("Lead", "Deal"), name="Other")
    mine = _deals(2, stage=stages[0], owner=alice, team=team)
    _deals(1, stage=other_stages[0], owner=alice, team=team)
    teammates = _deals(5, stage=stages[0], owner=bob, team=team)
    client.force_login(alice)
    html = client.get(reverse("opportunities:home")).content.decode()
    assert process.name in html
    assert sorted(_card_ids(html, stages[0].pk)) == sorted(d.pk for d in mine)
    # "Anyone" widens the same board to the teammates' deals.
    html = client.get(reverse("opportunities:home"), {"owner": "any"}).content.decode()
    assert sorted(_card_ids(html, stages[0].pk)) == sorted(d.pk for d in mine + teammates)


def test_a_managers_home_shows_the_teams_deals(client, alice, bob, carol, team, process, stages):
    deals = _deals(1, stage=stages[0], owner=alice, team=team) + _deals(
        1, stage=stages[0], owner=bob, team=team
    )
    client.force_login(carol)
    html = client.get(reverse("opportunities:home")).content.decode()
    assert sorted(_card_ids(html, stages[0].pk)) == sorted(d.pk for d in deals)


def test_an_sa_never_sees_cards_of_other_teams(
    client, alice, dave, team, other_team, process, stages
):
    theirs = factories.OpportunityFactory(
        name="Secret deal", stage=stages[0], owner=dave, team=other_team
    )
    client.force_login(alice)
    html = _board(client, process, owner="any").content.decode()
    assert "Secret deal" not in html
    assert f'data-opportunity-id="{theirs.pk}"' not in html
    head = _column_head(html, stages[0].pk)
    assert '">0</span>' in head  # not counted either


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"use_case": "security"}, {"security"}),
        ({"source": "partner"}, {"partner"}),
        ({"q": "globex"}, {"globex"}),
    ],
)
def test_filters_narrow_the_board_and_stay_in_the_url(
    client, alice, team, process, stages, params, expected
):
    factories.OpportunityFactory(
        name="Globex SIEM",
        stage=stages[0],
        owner=alice,
        team=team,
        use_case="security",
        source="partner",
    )
    factories.OpportunityFactory(
        name="Initech logs",
        stage=stages[0],
        owner=alice,
        team=team,
        use_case="observability",
        source="inbound",
    )
    client.force_login(alice)
    html = _board(client, process, **params).content.decode()
    assert "Globex SIEM" in html and "Initech logs" not in html
    key, value = next(iter(params.items()))
    # The form shows the active filter, so the URL and the page agree.
    if key == "q":
        assert f'value="{value}"' in html
    else:
        assert f'<option value="{value}" selected>' in html
    assert f"{key}={value}" in re.search(r'data-board-query="([^"]*)"', html).group(1)


def test_owner_and_team_filters(client, alice, bob, carol, team, other_team, process, stages):
    other_team.managers.add(carol)
    a = factories.OpportunityFactory(name="Alpha", stage=stages[0], owner=alice, team=team)
    b = factories.OpportunityFactory(name="Bravo", stage=stages[0], owner=bob, team=other_team)
    client.force_login(carol)
    by_owner = _board(client, process, owner=str(bob.pk)).content.decode()
    assert _card_ids(by_owner, stages[0].pk) == [b.pk]
    by_team = _board(client, process, team=str(team.pk)).content.decode()
    assert _card_ids(by_team, stages[0].pk) == [a.pk]


def test_won_and_lost_columns_show_only_recent_closes(client, carol, team, process, stages):
    long_ago = timezone.now() - timedelta(days=90)
    old = factories.OpportunityFactory(stage=stages[0], team=team, created_at=long_ago)
    recent = factories.OpportunityFactory(stage=stages[0], team=team, created_at=long_ago)
    for deal, when in ((old, timezone.now() - timedelta(days=60)), (recent, timezone.now())):
        opportunity_move_to_stage(
            opportunity=deal,
            to_stage=stages[3],
            actor=carol,
            override_reason="test",
            moved_at=when,
        )
    client.force_login(carol)
    html = _board(client, process).content.decode()
    assert _card_ids(html, stages[3].pk) == [recent.pk]
    assert "last 30 days" in _column_head(html, stages[3].pk)


def test_htmx_filter_request_gets_only_the_board_fragment(client, alice, process, stages):
    client.force_login(alice)
    response = client.get(
        reverse("opportunities:board", args=[process.slug]),
        headers={"HX-Request": "true", "HX-Target": "board"},
    )
    html = response.content.decode()
    assert html.startswith('<div id="board"') and "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_curators_see_cards_they_cannot_drag(client, erin, alice, team, process, stages):
    deal = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
    client.force_login(erin)
    html = _board(client, process).content.decode()
    card = re.search(rf'<article class="card([^"]*)" id="card-{deal.pk}".*?</article>', html, re.S)
    assert "is-locked" in card.group(1)
    assert "data-move-menu" not in card.group(0)


def test_board_of_an_unknown_process_is_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("opportunities:board", args=["nope"])).status_code == 404


def test_home_without_any_process_explains_what_to_do(client, alice):
    client.force_login(alice)
    html = client.get(reverse("opportunities:home")).content.decode()
    assert "No process is active yet" in html


def test_board_needs_login(client, process):
    response = _board(client, process)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_board_with_5000_cards_stays_under_300_kb(client, root, team, process, stages):
    """25 cards per column whatever the total: the HTML does not grow with the pipeline."""
    Opportunity.objects.bulk_create(
        [
            Opportunity(
                name=f"Bulk deal {index} – observability platform rollout",
                process=process,
                stage=stages[index % 3],
                team=team,
                amount=Decimal("125000"),
                created_at=timezone.now(),
                stage_entered_at=timezone.now() - timedelta(days=index % 40),
                use_case="observability",
            )
            for index in range(5000)
        ]
    )
    client.force_login(root)
    response = _board(client, process)
    assert len(re.findall(r'data-opportunity-id="', response.content.decode())) == 3 * 25
    assert len(response.content) < 300_000
