"""The top bar's search (/search/): what each role finds, the suggestions fragment, the page
behind Enter, its query budget and bad input."""

import re
from datetime import timedelta
from html import escape, unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from building_blocks.models import BuildingBlock
from epos.lib.roles import user_roles
from epos.search import MAX_LENGTH, RESULTS_PER_GROUP, SUGGESTIONS_PER_GROUP, global_search
from opportunities.search import accounts_matching, contacts_matching, deals_matching
from tests import factories
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
URL = "/search/"


def suggestions(client, text):
    return client.get(URL, {"q": text}, headers=HTMX)


def hrefs(response, group: str | None = None) -> list[str]:
    """The links of the options (of one group) in a suggestions fragment, in order."""
    html = response.content.decode()
    pattern = r'<a role="option"[^>]*href="([^"]+)"[^>]*data-group="([^"]+)"'
    return [unescape(url) for url, key in re.findall(pattern, html) if group in (None, key)]


def page_links(response) -> set[str]:
    return set(re.findall(r'<li><a href="([^"]+)"', response.content.decode()))


def deal_url(deal) -> str:
    return reverse("opportunities:opportunity-detail", args=[deal.pk])


def block_url(block) -> str:
    return reverse("building_blocks:block-detail", args=[block.pk])


@pytest.fixture
def world(alice, bob, carol, dave, erin, root, team, other_team, stages):
    """Deals named "Orion ..." in alice's team (hers and bob's) and in dave's team; blocks
    about Orion in every state; an account and a contact called Orion."""
    account = factories.AccountFactory(name="Orion Industries")
    contact = factories.ContactFactory(
        account=account, name="Olga Orionova", email="olga@orion.test", title="CTO"
    )
    deals = {
        "alice": factories.OpportunityFactory(
            name="Orion observability", stage=stages[0], owner=alice, team=team, account=account
        ),
        "bob": factories.OpportunityFactory(
            name="Orion security", stage=stages[0], owner=bob, team=team
        ),
        "dave": factories.OpportunityFactory(
            name="Orion search", stage=stages[0], owner=dave, team=other_team
        ),
    }
    factories.OpportunityFactory(name="Unrelated deal", stage=stages[0], owner=alice, team=team)
    published = make_block(erin, publish_by=root, title="Orion demo script")
    draft = make_block(erin, title="Orion draft guide")
    return {"account": account, "contact": contact, "deals": deals, "published": published,
            "draft": draft}  # fmt: skip


# --- what each role finds -----------------------------------------------------------------------

# Deals by the visibility rule: an SA and a manager see their teams' deals, a curator and an
# admin every deal. Blocks: drafts for curators and admins only.
SEES = {
    "alice": ({"alice", "bob"}, False),
    "carol": ({"alice", "bob"}, False),
    "dave": ({"dave"}, False),
    "erin": ({"alice", "bob", "dave"}, True),
    "root": ({"alice", "bob", "dave"}, True),
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_role_finds_the_deals_and_blocks_it_may_open(client, world, request, who):
    deal_owners, sees_drafts = SEES[who]
    client.force_login(request.getfixturevalue(who))

    response = suggestions(client, "orion")

    assert response.status_code == 200
    assert set(hrefs(response, "deals")) == {deal_url(world["deals"][o]) for o in deal_owners}
    expected_blocks = {block_url(world["published"])}
    if sees_drafts:
        expected_blocks.add(block_url(world["draft"]))
    assert set(hrefs(response, "blocks")) == expected_blocks
    # The customer directory is shared: every role finds the account and the contact.
    account_page = reverse("opportunities:account-detail", args=[world["account"].pk])
    assert hrefs(response, "accounts") == [account_page]
    assert hrefs(response, "contacts") == [account_page + "#contacts-title"]


def test_a_user_without_a_role_may_not_search(client, world, nobody):
    client.force_login(nobody)

    assert client.get(URL, {"q": "orion"}).status_code == 403
    assert suggestions(client, "orion").status_code == 403


def test_the_top_bar_shows_the_search_to_roles_only(client, world, alice, nobody):
    client.force_login(alice)
    assert 'id="topsearch-input"' in client.get(reverse("profile:detail")).content.decode()

    client.force_login(nobody)
    assert 'id="topsearch-input"' not in client.get(reverse("profile:detail")).content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    response = client.get(URL, {"q": "orion"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- the suggestions and the page ---------------------------------------------------------------


def test_suggestions_are_grouped_in_order_with_a_link_to_every_result(client, world, erin):
    client.force_login(erin)

    response = suggestions(client, "orion")
    html = response.content.decode()

    assert "<html" not in html  # the fragment alone
    assert "HX-Request" in response["Vary"]
    groups = re.findall(r'<div class="sg-head" id="sg-(\w+)">', html)
    assert groups == ["deals", "accounts", "contacts", "blocks"]
    assert 'role="listbox"' in html and 'role="combobox"' not in html
    assert f'href="{URL}?q=orion"' in html  # "See all results"
    # Option ids are unique: aria-activedescendant points at one of them.
    ids = re.findall(r'<a role="option" id="([^"]+)"', html)
    assert len(ids) == len(set(ids)) == 3 + 1 + 1 + 2 + 1


def test_the_page_lists_every_group_with_its_details(client, world, alice):
    client.force_login(alice)

    response = client.get(URL, {"q": "orion"})
    html = response.content.decode()

    assert response.status_code == 200
    assert "<html" in html
    assert page_links(response) >= {
        deal_url(world["deals"]["alice"]),
        deal_url(world["deals"]["bob"]),
        block_url(world["published"]),
    }
    assert deal_url(world["deals"]["dave"]) not in html
    assert "Orion Industries · " in html  # a deal's account and stage under its name
    assert "CTO · Orion Industries" in html  # a contact's title and account
    assert "5 results for “orion”" in html


def test_deals_come_newest_first_and_closed_ones_say_so(client, alice, team, stages):
    now = timezone.now()
    old = factories.OpportunityFactory(
        name="Vega old", stage=stages[0], owner=alice, team=team, created_at=now - timedelta(9)
    )
    new = factories.OpportunityFactory(
        name="Vega new", stage=stages[0], owner=alice, team=team, created_at=now
    )
    won = factories.OpportunityFactory(
        name="Vega won",
        stage=stages[0],
        owner=alice,
        team=team,
        created_at=now - timedelta(3),
        outcome="won",
        closed_at=now,
    )

    hits = deals_matching(user=alice, text="vega", limit=5)

    assert [hit.url for hit in hits] == [deal_url(new), deal_url(won), deal_url(old)]
    assert [hit.badge for hit in hits] == ["", "Won", ""]


def test_a_group_shows_a_few_suggestions_and_the_page_more(client, alice, team, stages):
    total = RESULTS_PER_GROUP + 3
    for number in range(total):
        factories.OpportunityFactory(
            name=f"Lyra {number:02d}", stage=stages[0], owner=alice, team=team
        )
    client.force_login(alice)

    assert len(hrefs(suggestions(client, "lyra"), "deals")) == SUGGESTIONS_PER_GROUP
    page = client.get(URL, {"q": "lyra"}).content.decode()
    assert page.count('<li><a href="/opportunities/') == RESULTS_PER_GROUP
    see_all = reverse("opportunities:opportunity-list") + "?search=lyra&outcome=all"
    assert f'href="{escape(see_all)}"' in page
    listing = client.get(see_all).content.decode()
    assert all(f"Lyra {number:02d}" in listing for number in range(total - 3, total))


def test_two_letters_match_where_a_word_starts(client, alice, team, stages):
    starts = factories.OpportunityFactory(
        name="Ly network", stage=stages[0], owner=alice, team=team
    )
    inner = factories.OpportunityFactory(
        name="Big ly deal", stage=stages[0], owner=alice, team=team
    )
    factories.OpportunityFactory(name="Family office", stage=stages[0], owner=alice, team=team)

    hits = deals_matching(user=alice, text="ly", limit=5)

    assert {hit.url for hit in hits} == {deal_url(starts), deal_url(inner)}


def test_two_letters_find_blocks_by_the_words_of_their_title(erin, root):
    titled = make_block(erin, publish_by=root, title="Sizing sheet")
    make_block(erin, publish_by=root, title="Capacity notes", body="Sizing for the cluster")
    make_block(erin, publish_by=root, title="Upsizing guide")

    hits = global_search(user=erin, text="si", limit=5)[3].hits

    assert [hit.url for hit in hits] == [block_url(titled)]


def test_two_letters_find_contacts_whose_email_starts_with_them(alice):
    account = factories.AccountFactory(name="Nimbus")
    starts = factories.ContactFactory(account=account, name="Paulo Costa", email="ru@nimbus.test")
    factories.ContactFactory(account=account, name="Ana Lima", email="ana.ru@nimbus.test")

    hits = global_search(user=alice, text="ru", limit=5)[2].hits

    assert [hit.title for hit in hits] == [starts.name]


def test_wildcards_are_matched_as_characters(client, alice, team, stages):
    percent = factories.OpportunityFactory(
        name="Discount 50% off", stage=stages[0], owner=alice, team=team
    )
    factories.OpportunityFactory(name="Discount 500 off", stage=stages[0], owner=alice, team=team)
    client.force_login(alice)

    assert hrefs(suggestions(client, "50%"), "deals") == [deal_url(percent)]
    assert hrefs(suggestions(client, "__"), "deals") == []


def test_names_are_escaped_and_the_match_marked(client, alice, team, stages):
    factories.OpportunityFactory(
        name="<script>x</script> Nova", stage=stages[0], owner=alice, team=team
    )
    client.force_login(alice)

    html = suggestions(client, "nova").content.decode()

    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt; <mark>Nova</mark>" in html


# --- the query budget ---------------------------------------------------------------------------

# Session, user, roles, the SA's teams, then one query per group: deals, accounts, contacts,
# blocks. A curator's deals need no teams.
SA_QUERIES = 8
CURATOR_QUERIES = 7


@pytest.mark.parametrize(("who", "budget"), [("alice", SA_QUERIES), ("erin", CURATOR_QUERIES)])
@pytest.mark.parametrize("htmx", [True, False], ids=["suggestions", "page"])
def test_query_count_is_constant(
    client, django_assert_num_queries, request, alice, erin, team, stages, who, budget, htmx
):
    client.force_login(request.getfixturevalue(who))
    shown = []
    for extra in (1, 30):
        for number in range(extra):
            account = factories.AccountFactory(name=f"Deneb account {len(shown)}-{number}")
            factories.ContactFactory(account=account, name=f"Deneb contact {number}")
            factories.OpportunityFactory(
                name=f"Deneb {number}", stage=stages[0], owner=alice, team=team, account=account
            )
            make_block(erin, publish_by=None, title=f"Deneb block {number}")
        with django_assert_num_queries(budget):
            response = client.get(URL, {"q": "deneb"}, headers=HTMX if htmx else {})
        assert response.status_code == 200
        shown.append(response.content.decode().count("/opportunities/"))
    assert shown[1] > shown[0]


def test_the_selector_asks_one_query_per_group(django_assert_num_queries, world, root):
    user_roles(root)  # read once per request, by the page's context processor too

    with django_assert_num_queries(4):
        results = global_search(user=root, text="orion", limit=5)

    assert [result.group.key for result in results] == ["deals", "accounts", "contacts", "blocks"]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "o", "  o  "])
def test_too_little_text_searches_nothing(client, world, alice, text):
    client.force_login(alice)

    page = client.get(URL, {"q": text})
    fragment = suggestions(client, text)

    assert page.status_code == fragment.status_code == 200
    assert "/opportunities/" not in fragment.content.decode()
    assert 'role="option"' not in fragment.content.decode()
    if text.strip():
        assert "Type at least 2 characters." in page.content.decode()


def test_a_text_past_the_field_length_is_a_400(client, world, alice):
    client.force_login(alice)

    page = client.get(URL, {"q": "o" * 500})
    fragment = suggestions(client, "o" * 500)

    assert page.status_code == fragment.status_code == 400
    assert f"Search for at most {MAX_LENGTH} characters." in page.content.decode()
    assert client.get(URL, {"q": "o" * MAX_LENGTH}).status_code == 200


@pytest.mark.parametrize("query", ["q=ori%00on", "q=%00", "q=orion&q=%00"])
def test_a_nul_byte_is_a_400(client, world, alice, query):
    client.force_login(alice)

    response = client.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_the_search_is_read_only(client, world, alice):
    client.force_login(alice)

    assert client.post(URL, {"q": "orion"}).status_code == 405


# --- PostgreSQL: the trigram index serves the deal search ---------------------------------------


@pytest.mark.parametrize(
    ("finder", "text", "indexes"),
    [
        (deals_matching, "orion", {"opportunity_name_trgm_idx"}),
        (deals_matching, "or", {"opportunity_name_trgm_idx"}),
        (accounts_matching, "orion", {"account_name_trgm_idx"}),
        (contacts_matching, "orion", {"contact_name_trgm_idx", "contact_email_trgm_idx"}),
        (contacts_matching, "or", {"contact_name_trgm_idx", "contact_email_trgm_idx"}),
    ],
)
def test_name_matches_can_use_the_trigram_indexes(postgres_only, root, finder, text, indexes):
    user_roles(root)  # an admin: no visibility filter for the planner to prefer
    with CaptureQueriesContext(connection) as captured:
        finder(user=root, text=text, limit=6)
    (statement,) = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        # Tiny tables are scanned anyway; without scans the planner shows what it could use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert {index for index in indexes if index in plan} == indexes, plan


def test_blocks_keep_the_librarys_visibility(world, alice, erin):
    draft = BuildingBlock.objects.get(pk=world["draft"].pk)

    for_sa = {hit.url for hit in global_search(user=alice, text="orion", limit=5)[3].hits}
    for_curator = {hit.url for hit in global_search(user=erin, text="orion", limit=5)[3].hits}

    assert block_url(draft) not in for_sa
    assert block_url(draft) in for_curator
