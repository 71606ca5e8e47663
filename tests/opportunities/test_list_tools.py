"""The opportunity list's tools: column sort, CSV export, saved views and bulk actions (move
through the move rules, reassign through the assignment rule), with their query budgets."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from epos.models import OutboxMessage
from opportunities.bulk import BULK_LIMIT
from opportunities.models import ChecklistCompletion, Opportunity, SavedView, StageTransition
from tests import factories

pytestmark = pytest.mark.django_db

LIST = reverse("opportunities:opportunity-list")
EXPORT = reverse("opportunities:opportunity-export")
BULK = reverse("opportunities:opportunity-bulk")
SAVE_VIEW = reverse("opportunities:saved-view-create")
HTMX = {"HX-Request": "true"}


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-opportunity-id="(\d+)"', html)]


def list_ids(client, **query) -> list[int]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return row_ids(response.content.decode())


def export_rows(client, **query) -> list[list[str]]:
    response = client.get(EXPORT, query)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def tick_all(deal, stage) -> None:
    for item in stage.items.all():
        ChecklistCompletion.objects.create(opportunity=deal, item=item, done=True)


def deal(stage, **fields):
    return factories.OpportunityFactory(stage=stage, **fields)


# --- sorting --------------------------------------------------------------------------------


@pytest.fixture
def sortable(alice, bob, team, stages):
    """Deals whose every sortable column has ties and, where a column may be empty, gaps."""
    base = timezone.now() - timedelta(days=30)
    no_account = deal(stages[1], name="echo", owner=None, team=team, amount=None)
    no_account.account = None
    no_account.save()
    rows = [
        deal(stages[0], name="Bravo", owner=alice, team=team, amount=Decimal("500")),
        deal(stages[1], name="alpha", owner=bob, team=team, amount=Decimal("500")),
        deal(stages[2], name="delta", owner=alice, team=team, amount=None),
        deal(stages[0], name="Charlie", owner=bob, team=team, amount=Decimal("90")),
        deal(stages[1], name="alpha", owner=alice, team=team, amount=Decimal("7000")),
        no_account,
    ]
    closes = [date(2026, 3, 1), None, date(2026, 1, 15), date(2026, 3, 1), None, date(2026, 2, 1)]
    accounts = ["Umbrella", "acme", "Globex", "acme", "Initech", None]
    for index, (row, close, account) in enumerate(zip(rows, closes, accounts, strict=True)):
        row.expected_close_date = close
        row.created_at = base + timedelta(days=index % 3)  # ties on the creation time too
        if account is not None:
            row.account.name = account
            row.account.save()
        row.save()
    return rows


def expected_order(rows, key, descending: bool) -> list[int]:
    """The order the list promises, computed here: empty values last either way, the id breaking
    ties in the same direction as the column."""
    present = [row for row in rows if key(row) is not None]
    empty = [row for row in rows if key(row) is None]
    present.sort(key=lambda row: (key(row), row.pk), reverse=descending)
    empty.sort(key=lambda row: row.pk, reverse=descending)
    return [row.pk for row in present + empty]


def _owner(row):
    if row.owner is None:
        return None
    return (row.owner.first_name.lower(), row.owner.last_name.lower(), row.owner.username.lower())


SORT_KEYS = {
    "name": lambda row: row.name.lower(),
    "account": lambda row: row.account.name.lower() if row.account else None,
    "stage": lambda row: (row.process.name.lower(), row.stage.position),
    "owner": _owner,
    "amount": lambda row: row.amount,
    "close": lambda row: row.expected_close_date,
    "created": lambda row: row.created_at,
}


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("column", sorted(SORT_KEYS))
def test_each_column_sorts_both_ways_with_the_id_breaking_ties(
    client, alice, sortable, column, descending
):
    client.force_login(alice)
    sort = f"-{column}" if descending else column
    shown = list_ids(client, sort=sort, outcome="all")
    assert shown == expected_order(sortable, SORT_KEYS[column], descending)


@pytest.mark.parametrize(
    "bad", ["password", "-owner__password", "--name", "name;drop", "pk", "stage__position", " "]
)
def test_unknown_sort_keys_are_ignored_for_the_default_order(client, alice, sortable, bad):
    client.force_login(alice)
    newest_first = expected_order(sortable, SORT_KEYS["created"], descending=True)
    response = client.get(LIST, {"sort": bad})
    assert response.status_code == 200
    assert "not understood" not in response.content.decode()
    assert row_ids(response.content.decode()) == newest_first


def test_the_headers_keep_the_filters_and_turn_the_sort_around(client, alice, sortable):
    client.force_login(alice)
    html = client.get(LIST, {"use_case": "other", "sort": "amount", "page": "1"}).content.decode()
    links = {
        title: parse_qs(urlsplit(href.replace("&amp;", "&")).query)
        for href, title in re.findall(r'<a class="sort-link" href="([^"]*)">([^<]+)<', html)
    }
    assert links["Amount"] == {"use_case": ["other"], "sort": ["-amount"]}  # sorted: turn around
    assert links["Opportunity"] == {"use_case": ["other"], "sort": ["name"]}
    assert 'aria-sort="ascending"' in html
    html = client.get(LIST, {"sort": "-amount"}).content.decode()
    assert 'aria-sort="descending"' in html and "sort=amount" in html


def test_pages_of_a_sort_with_ties_neither_repeat_nor_skip(client, alice, team, stages):
    deals = [deal(stages[0], owner=alice, team=team, amount=Decimal("100")) for _ in range(55)]
    client.force_login(alice)
    first = list_ids(client, sort="amount")
    second = list_ids(client, sort="amount", page=2)
    assert len(first) == 50 and len(second) == 5
    assert first + second == sorted(d.pk for d in deals)


# --- CSV export -----------------------------------------------------------------------------


def test_the_export_has_every_matching_row_in_the_lists_order(client, alice, team, stages):
    wanted = [
        deal(stages[0], name=f"sec{index:02d}", owner=alice, team=team, use_case="security")
        for index in range(57)
    ]
    deal(stages[0], name="not security", owner=alice, team=team, use_case="search")
    client.force_login(alice)
    rows = export_rows(client, use_case="security", sort="-name", page="2")
    header, body = rows[0], rows[1:]
    assert header[:5] == ["ID", "Opportunity", "Account", "Process", "Stage"]
    # All 57, past the page of 50 and whatever page the list showed, in the list's order.
    expected = sorted(wanted, key=lambda d: d.name, reverse=True)
    assert [int(row[0]) for row in body] == [d.pk for d in expected]
    first = expected[0]
    by_column = dict(zip(header, body[0], strict=True))
    assert by_column["Opportunity"] == first.name
    assert by_column["Owner"] == "Alice Archer"
    assert by_column["Team"] == team.name
    assert by_column["Stage"] == stages[0].name
    assert by_column["Amount"] == f"{first.amount:.2f}"
    assert by_column["Outcome"] == "Open"
    assert by_column["Created"] == timezone.localtime(first.created_at).isoformat(
        timespec="minutes"
    )
    assert by_column["Closed"] == by_column["Account executive"] == ""


def test_the_export_keeps_to_what_the_user_may_see(client, alice, dave, team, other_team, stages):
    mine = deal(stages[0], name="Mine", owner=alice, team=team)
    deal(stages[0], name="Theirs", owner=dave, team=other_team)
    client.force_login(alice)
    body = export_rows(client, outcome="all")[1:]
    assert [int(row[0]) for row in body] == [mine.pk]


def test_the_export_hands_no_formula_to_a_spreadsheet(client, alice, team, stages):
    names = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "Plain name"]
    for index, name in enumerate(names):
        made = deal(stages[0], name=name, owner=alice, team=team)
        made.created_at = timezone.now() - timedelta(minutes=index)
        made.save()
    account = Opportunity.objects.get(name="Plain name").account
    account.name = "=cmd|' /C calc'!A0"
    account.save()
    client.force_login(alice)
    body = export_rows(client)[1:]
    cells = {row[1]: row[2] for row in body}
    assert set(cells) == {"'" + name for name in names[:4]} | {"Plain name"}
    assert cells["Plain name"] == "'=cmd|' /C calc'!A0"
    numbers = [row[9] for row in body]
    assert numbers == ["10000.00"] * 5  # numbers are numbers, never quoted


def test_the_export_refuses_filters_it_does_not_understand(client, alice):
    client.force_login(alice)
    response = client.get(EXPORT, {"created_after": "yesterday"})
    assert response.status_code == 400
    assert "created_after" in response.content.decode()


def test_a_user_without_a_role_gets_no_export(client, nobody):
    client.force_login(nobody)
    assert client.get(EXPORT).status_code == 403


# --- saved views ----------------------------------------------------------------------------


def test_saving_a_view_keeps_the_filters_and_sort_and_applies_them(client, alice, team, stages):
    deal(stages[0], name="zulu", owner=alice, team=team, use_case="security")
    deal(stages[0], name="yankee", owner=alice, team=team, use_case="security")
    deal(stages[0], name="xray", owner=alice, team=team, use_case="search")
    client.force_login(alice)
    query = "use_case=security&sort=name&page=3&csrfmiddlewaretoken=x&bogus=1&source="
    response = client.post(SAVE_VIEW, {"name": "  Security A-Z ", "query": query})
    view = SavedView.objects.get()
    assert (view.user, view.name, view.query) == (
        alice,
        "Security A-Z",
        "use_case=security&sort=name",
    )
    assert response.status_code == 302 and response["Location"] == f"{LIST}?{view.query}"
    html = client.get(LIST).content.decode()
    assert f'href="{LIST}?use_case=security&amp;sort=name"' in html and "Security A-Z" in html
    # Applying it is following that link: the filtered, sorted list, marked as the current view.
    applied = client.get(LIST, {"use_case": "security", "sort": "name"}).content.decode()
    assert [Opportunity.objects.get(pk=pk).name for pk in row_ids(applied)] == ["yankee", "zulu"]
    assert 'aria-current="true">Security A-Z<' in applied


def test_saving_under_the_same_name_replaces_that_view(client, alice):
    client.force_login(alice)
    client.post(SAVE_VIEW, {"name": "Mine", "query": "owner=me"})
    client.post(SAVE_VIEW, {"name": "Mine", "query": "owner=me&sort=-amount"})
    assert list(SavedView.objects.values_list("name", "query")) == [
        ("Mine", "owner=me&sort=-amount")
    ]


def test_a_view_needs_a_name(client, alice):
    client.force_login(alice)
    response = client.post(SAVE_VIEW, {"name": "   ", "query": "owner=me"}, follow=True)
    assert "Give the view a name" in response.content.decode()
    assert not SavedView.objects.exists()


def test_views_are_per_user(client, alice, bob):
    SavedView.objects.create(user=bob, name="Bob's deals", query="owner=me")
    mine = SavedView.objects.create(user=alice, name="Alice's deals", query="owner=me")
    client.force_login(alice)
    html = client.get(LIST).content.decode()
    assert "Alice&#x27;s deals" in html and "Bob&#x27;s deals" not in html
    # The same name is fine for another user.
    client.post(SAVE_VIEW, {"name": "Bob's deals", "query": ""})
    assert SavedView.objects.filter(name="Bob's deals").count() == 2
    assert mine.pk in SavedView.objects.filter(user=alice).values_list("pk", flat=True)


def test_deleting_my_view_and_never_anothers(client, alice, bob):
    theirs = SavedView.objects.create(user=bob, name="Bob's", query="owner=me")
    mine = SavedView.objects.create(user=alice, name="Mine", query="owner=me")
    client.force_login(alice)
    url = reverse("opportunities:saved-view-delete", args=[theirs.pk])
    assert client.post(url).status_code == 404
    assert SavedView.objects.filter(pk=theirs.pk).exists()
    assert client.get(reverse("opportunities:saved-view-delete", args=[mine.pk])).status_code == 405
    response = client.post(
        reverse("opportunities:saved-view-delete", args=[mine.pk]), {"query": "sort=name"}
    )
    assert response.status_code == 302 and response["Location"] == f"{LIST}?sort=name"
    assert list(SavedView.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert (
        client.post(reverse("opportunities:saved-view-delete", args=[mine.pk])).status_code == 404
    )


# --- bulk reassign --------------------------------------------------------------------------


def bulk(client, *, htmx=False, **data):
    return client.post(BULK, data, headers=HTMX if htmx else {})


def test_a_manager_reassigns_deals_within_the_team(client, alice, bob, carol, team, stages):
    deals = [deal(stages[0], owner=alice, team=team) for _ in range(3)]
    client.force_login(carol)
    response = bulk(client, action="reassign", owner=bob.pk, ids=[d.pk for d in deals])
    assert response.status_code == 200
    html = response.content.decode()
    assert "Reassigned 3 of 3 deals to Bob Baker" in html
    assert set(Opportunity.objects.values_list("owner_id", flat=True)) == {bob.pk}
    assert set(Opportunity.objects.values_list("version", flat=True)) == {2}


def test_a_reassign_outside_the_team_is_refused_deal_by_deal(
    client, alice, carol, dave, team, other_team, stages
):
    mine = deal(stages[0], name="Kept with Alice", owner=alice, team=team)
    hidden = deal(stages[0], name="Dave's secret deal", owner=dave, team=other_team)
    client.force_login(carol)
    response = bulk(client, action="reassign", owner=dave.pk, ids=[mine.pk, hidden.pk])
    html = response.content.decode()
    assert response.status_code == 200
    assert "Reassigned 0 of 2 deals to Dave Dunn" in html
    assert "Dave Dunn is not in Observability EMEA: the owner must belong to the deal" in html
    # A deal the manager may not see is "not found", by id only: its name does not leak.
    assert f"#{hidden.pk}</span>: Not found" in html
    assert "secret" not in html
    assert Opportunity.objects.get(pk=mine.pk).owner == alice
    assert Opportunity.objects.get(pk=hidden.pk).owner == dave


def test_an_sa_may_not_reassign_a_teammates_deal(client, alice, bob, team, stages):
    mine = deal(stages[0], name="Mine", owner=alice, team=team)
    teammates = deal(stages[0], name="Bob's own", owner=bob, team=team)
    client.force_login(alice)
    html = bulk(client, action="reassign", owner=bob.pk, ids=[teammates.pk, mine.pk]).content
    html = html.decode()
    assert "Reassigned 1 of 2 deals to Bob Baker" in html
    assert "Bob&#x27;s own</a>: You may not change this deal." in html
    assert Opportunity.objects.get(pk=mine.pk).owner == bob  # the same rule as the edit form
    assert Opportunity.objects.get(pk=teammates.pk).version == 1


# --- bulk move ------------------------------------------------------------------------------


def test_a_bulk_move_applies_the_gate_to_each_deal(client, alice, team, stages):
    blocked = deal(stages[0], name="Not ready", owner=alice, team=team)
    ready = [deal(stages[0], name=f"Ready {n}", owner=alice, team=team) for n in range(2)]
    for made in ready:
        tick_all(made, stages[0])
    client.force_login(alice)
    # The refused deal comes first: the ones after it still move, each in its own transaction.
    ids = [blocked.pk, *(d.pk for d in ready)]
    response = bulk(client, htmx=True, action="move", stage=stages[1].pk, ids=ids)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Moved 2 of 3 deals to Demo" in html
    assert (
        "Not ready</a>: Required items are not done (Discovery: Discovery item 1, Discovery item"
        " 2): tick them on the deal first." in html
    )
    assert response["HX-Trigger-After-Swap"] == '{"epos:list-changed": {}}'
    for made in ready:
        made.refresh_from_db()
        assert (made.stage_id, made.version) == (stages[1].pk, 2)
        last = StageTransition.objects.filter(opportunity=made).latest("pk")
        assert (last.from_stage_id, last.to_stage_id, last.moved_by) == (
            stages[0].pk,
            stages[1].pk,
            alice,
        )
    blocked.refresh_from_db()
    assert (blocked.stage_id, blocked.version) == (stages[0].pk, 1)
    assert StageTransition.objects.filter(opportunity=blocked).count() == 1
    moved_events = OutboxMessage.objects.filter(topic="opportunity.stage_changed")
    assert sorted(m.payload["opportunity_id"] for m in moved_events) == sorted(d.pk for d in ready)


def test_a_bulk_move_to_lost_needs_a_loss_reason(client, alice, team, stages):
    deals = [deal(stages[0], name=f"Going {n}", owner=alice, team=team) for n in range(2)]
    lost = stages[-1]
    client.force_login(alice)
    html = bulk(client, action="move", stage=lost.pk, ids=[d.pk for d in deals]).content.decode()
    assert "Moved 0 of 2 deals to Lost" in html
    assert html.count("A move to Lost needs a loss reason: pick one and try again.") == 2
    assert not Opportunity.objects.filter(outcome="lost").exists()
    response = bulk(client, action="move", stage=lost.pk, loss_reason="Price", ids=[deals[0].pk])
    assert "Moved 1 of 1 deal to Lost" in response.content.decode()
    deals[0].refresh_from_db()
    assert (deals[0].outcome, deals[0].loss_reason, deals[0].stage) == ("lost", "Price", lost)


def test_a_bulk_move_reports_stages_of_another_process_and_no_moves(client, alice, team, stages):
    other_process, other_stages = factories.make_process(("Lead", "Deal"), name="Other sales")
    here = deal(stages[1], name="Here already", owner=alice, team=team)
    elsewhere = deal(other_stages[0], name="Elsewhere", owner=alice, team=team)
    client.force_login(alice)
    html = bulk(client, action="move", stage=stages[1].pk, ids=[here.pk, elsewhere.pk]).content
    html = html.decode()
    assert "Moved 0 of 2 deals to Demo" in html
    assert "Here already</a>: It is already in Demo." in html
    assert (
        f"Elsewhere</a>: It follows Other sales, and Demo is a stage of {stages[1].process.name}"
        in html
    )
    assert Opportunity.objects.filter(version=1).count() == 2


def test_a_curator_moves_nothing(client, erin, alice, team, stages):
    made = deal(stages[0], name="Read only", owner=alice, team=team)
    tick_all(made, stages[0])
    client.force_login(erin)
    html = bulk(client, action="move", stage=stages[1].pk, ids=[made.pk]).content.decode()
    assert "Read only</a>: You may not change this deal." in html
    assert Opportunity.objects.get(pk=made.pk).stage_id == stages[0].pk


def test_the_batch_is_capped(client, alice, team, stages):
    made = deal(stages[0], owner=alice, team=team)
    tick_all(made, stages[0])
    client.force_login(alice)
    too_many = [made.pk, *range(10**9, 10**9 + BULK_LIMIT)]
    response = bulk(client, action="move", stage=stages[1].pk, ids=too_many)
    assert response.status_code == 400
    assert f"You selected {BULK_LIMIT + 1} deals; a bulk action takes at most {BULK_LIMIT}" in (
        response.content.decode()
    )
    assert Opportunity.objects.get(pk=made.pk).stage_id == stages[0].pk
    # htmx shows the refusal where the report goes.
    response = bulk(client, htmx=True, action="move", stage=stages[1].pk, ids=too_many)
    assert (response.status_code, response["HX-Retarget"]) == (400, "#bulk-report")
    # At the cap it runs: the made-up ids are simply not found.
    at_cap = too_many[:BULK_LIMIT]
    html = bulk(client, action="move", stage=stages[1].pk, ids=at_cap).content.decode()
    assert f"Moved 1 of {BULK_LIMIT} deals to Demo" in html
    assert html.count(": Not found: it does not exist or you may not see it.") == BULK_LIMIT - 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "move", "stage": "1"}, "Select at least one deal first."),
        ({"action": "move", "ids": ["abc", "²"]}, "Select at least one deal first."),
        ({"action": "move", "ids": ["1"], "stage": "99999999999999999999"}, "Pick the stage"),
        ({"action": "reassign", "ids": ["1"]}, "Pick the person to give them to."),
        ({"action": "delete", "ids": ["1"]}, "Choose Move or Reassign."),
    ],
)
def test_an_incomplete_bulk_request_changes_nothing(client, alice, data, message):
    client.force_login(alice)
    response = client.post(BULK, data)
    assert response.status_code == 400
    assert message in response.content.decode()


# --- the page -------------------------------------------------------------------------------


def test_only_deals_the_user_may_change_can_be_ticked(client, alice, bob, team, stages):
    mine = deal(stages[0], owner=alice, team=team)
    teammates = deal(stages[0], owner=bob, team=team)
    client.force_login(alice)
    html = client.get(LIST).content.decode()
    assert f'name="ids" value="{mine.pk}"' in html
    assert f'name="ids" value="{teammates.pk}"' not in html
    assert 'id="bulk-form"' in html and "data-select-all" in html


def test_a_curator_sees_no_bulk_bar(client, erin, alice, team, stages):
    deal(stages[0], owner=alice, team=team)
    client.force_login(erin)
    html = client.get(LIST).content.decode()
    assert 'id="bulk-form"' not in html and 'name="ids"' not in html
    assert "Export CSV" in html


def test_htmx_reloads_the_table_alone(client, alice, team, stages):
    made = deal(stages[0], owner=alice, team=team)
    client.force_login(alice)
    response = client.get(LIST, {"sort": "name"}, headers={**HTMX, "HX-Target": "list-results"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="list-results"')
    assert row_ids(html) == [made.pk] and "saved-views" not in html
    assert "HX-Request" in response["Vary"]


# --- query budgets --------------------------------------------------------------------------

# session, user, roles, teams, count, page, processes, their stages, owner choices, saved views.
LIST_QUERIES = 10
# A curator: no teams to read (they see every deal) and no bulk bar (they change none), so no
# owner choices either.
LIST_QUERIES_READ_ONLY = 8
# session, user, roles, teams, the rows (one query, read in chunks).
EXPORT_QUERIES = 5


def add_deals(count, *, stage, owner, team):
    return [deal(stage, owner=owner, team=team) for _ in range(count)]


@pytest.mark.parametrize("sort", ["", "owner", "-stage"])
def test_list_query_count_is_constant(client, django_assert_num_queries, alice, team, stages, sort):
    SavedView.objects.create(user=alice, name="One", query="sort=name")
    client.force_login(alice)
    shown = []
    for extra in (3, 30):
        add_deals(extra, stage=stages[0], owner=alice, team=team)
        with django_assert_num_queries(LIST_QUERIES):
            response = client.get(LIST, {"sort": sort} if sort else {})
        shown.append(len(row_ids(response.content.decode())))
    assert shown == [3, 33]


def test_read_only_list_query_count_is_constant(
    client, django_assert_num_queries, erin, alice, team, stages
):
    client.force_login(erin)
    for extra in (2, 20):
        add_deals(extra, stage=stages[0], owner=alice, team=team)
        with django_assert_num_queries(LIST_QUERIES_READ_ONLY):
            assert client.get(LIST, {"sort": "amount"}).status_code == 200


def test_export_query_count_is_constant(client, django_assert_num_queries, alice, team, stages):
    client.force_login(alice)
    sizes = []
    for extra in (3, 1200):  # past one chunk of the server-side cursor
        Opportunity.objects.bulk_create(
            [
                Opportunity(
                    name=f"Bulk {n}",
                    process=stages[0].process,
                    stage=stages[0],
                    owner=alice,
                    team=team,
                    created_at=timezone.now(),
                    stage_entered_at=timezone.now(),
                )
                for n in range(extra)
            ]
        )
        with django_assert_num_queries(EXPORT_QUERIES):
            response = client.get(EXPORT, {"sort": "owner"})
            text = b"".join(response.streaming_content).decode()
        sizes.append(len(text.strip().splitlines()) - 1)
    assert sizes == [3, 1203]


# A bulk request reads: session, user, roles, teams, the stage (or the new owner), the
# selected deals the user may see (one query). Then each deal costs what its service costs.
BULK_BASE = 6
# opportunity_move_to_stage, forward past a gate that is met: savepoint, lock, the process's
# stages, the open required items, update the deal, end the last visit, append the transition,
# the outbox event, release the savepoint.
MOVE_QUERIES = 9
# opportunity_update of the owner, the edit form's service: savepoint, lock, the deal's team
# and old owner (the assignment rule reads them), full_clean's five foreign-key checks and two
# check constraints (a savepoint each), update, release. The new owner's teams are read once
# per request (kept on the user object): the 1 added to the base below.
REASSIGN_QUERIES = 17


@pytest.mark.parametrize("selected", [2, 5])
def test_bulk_move_query_count_is_base_plus_each_move(
    client, django_assert_num_queries, alice, team, stages, selected
):
    client.force_login(alice)
    for background in (0, 25):  # more deals in the list change nothing
        add_deals(background, stage=stages[1], owner=alice, team=team)
        chosen = add_deals(selected, stage=stages[0], owner=alice, team=team)
        for made in chosen:
            tick_all(made, stages[0])
        with django_assert_num_queries(BULK_BASE + MOVE_QUERIES * selected):
            response = bulk(
                client, htmx=True, action="move", stage=stages[1].pk, ids=[d.pk for d in chosen]
            )
        assert f"Moved {selected} of {selected} deals" in response.content.decode()


@pytest.mark.parametrize("selected", [2, 5])
def test_bulk_reassign_query_count_is_base_plus_each_update(
    client, django_assert_num_queries, alice, bob, carol, team, stages, selected
):
    client.force_login(carol)
    for background in (0, 25):
        add_deals(background, stage=stages[0], owner=alice, team=team)
        chosen = add_deals(selected, stage=stages[0], owner=alice, team=team)
        with django_assert_num_queries(BULK_BASE + 1 + REASSIGN_QUERIES * selected):
            response = bulk(client, action="reassign", owner=bob.pk, ids=[d.pk for d in chosen])
        assert f"Reassigned {selected} of {selected} deals" in response.content.decode()
