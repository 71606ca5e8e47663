"""Every list endpoint has an exact query budget that does not grow with the rows."""

import pytest
from django.urls import reverse

from epos.services import api_key_create
from opportunities.services import opportunity_move_to_stage
from tests import factories

pytestmark = pytest.mark.django_db

# Token auth (1: key + user), roles (1), the SA's teams (1), count (1), page (1).
SA_LIST = 5


def _fill(kind, n, *, alice, team, stages):
    """n more deals, each with a contact, an activity, an ESAT answer and a product gap."""
    for _ in range(n):
        opportunity = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
        factories.ContactFactory(account=opportunity.account)
        opportunity.activities.create(
            kind="call", occurred_at=opportunity.created_at, created_by=alice
        )
        opportunity.esat_responses.create(
            score=4, received_at=opportunity.created_at, stage=stages[0]
        )
        opportunity.product_gaps.create(title="gap", severity="nice_to_have", created_by=alice)


@pytest.mark.parametrize(
    ("url_name", "queries"),
    [
        ("api:opportunity-list", SA_LIST),
        ("api:activity-list", SA_LIST),
        ("api:esat-response-list", SA_LIST),
        ("api:product-gap-list", SA_LIST),
        # Accounts and contacts are a shared directory: no team lookup.
        ("api:account-list", SA_LIST - 1),
        ("api:contact-list", SA_LIST - 1),
    ],
)
def test_list_endpoints_have_a_constant_query_count(
    django_assert_num_queries, client, alice, team, stages, url_name, queries
):
    _, raw = api_key_create(user=alice)
    headers = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    client.get(reverse(url_name), **headers)  # first use of a key stamps last_used_at
    counts = []
    for extra_rows in (3, 9):
        _fill(url_name, extra_rows, alice=alice, team=team, stages=stages)
        with django_assert_num_queries(queries):
            response = client.get(reverse(url_name), **headers)
        assert response.status_code == 200
        counts.append(response.json()["count"])
    assert counts[1] > counts[0]


def test_process_list_prefetches_stages_items_and_tools(django_assert_num_queries, client, alice):
    _, raw = api_key_create(user=alice)
    headers = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    client.get(reverse("api:process-list"), **headers)
    for n in (1, 4):
        while len(client.get(reverse("api:process-list"), **headers).json()["results"]) < n:
            process, stages = factories.make_process(("A", "B", "C"), required_items=2)
            stages[0].tools.add(factories.ToolFactory())
        # auth, roles, count, processes, stages, items, tools
        with django_assert_num_queries(7):
            response = client.get(reverse("api:process-list"), **headers)
        assert len(response.json()["results"]) == n


def test_transition_list_is_constant(django_assert_num_queries, client, carol, team, stages):
    opportunity = factories.OpportunityFactory(stage=stages[0], team=team)
    _, raw = api_key_create(user=carol)
    headers = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    url = reverse("api:opportunity-transitions", args=[opportunity.pk])
    client.get(url, **headers)
    for moves in (1, 6):
        while opportunity.transitions.count() < moves + 1:
            target = stages[1] if opportunity.stage_id == stages[0].pk else stages[0]
            opportunity = opportunity_move_to_stage(
                opportunity=opportunity, to_stage=target, actor=carol, override_reason="test"
            )
        # auth, roles, teams, the opportunity, count, page
        with django_assert_num_queries(6):
            response = client.get(url, **headers)
        assert response.json()["count"] == moves + 1


# Token auth (1), roles (1), savepoint, the deal under its lock with what the answer prints,
# the process's stages, the open required items (a forward move only), the deal's update, the
# visit it ends, the transition, the outbox message, release: the move's cost does not grow
# with the deal's history.
OWNER_MOVE = {"forward": 11, "backward": 10}


@pytest.mark.parametrize(("mover", "extra"), [("alice", 0), ("carol", 1)])
def test_a_move_through_the_api_has_a_constant_query_count(
    django_assert_num_queries, client, request, mover, extra, alice, team, stages
):
    """The deal's owner needs no look-up of their teams; a manager one (`extra`)."""
    opportunity = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
    for item in stages[0].items.all():
        opportunity.checklist.create(item=item, done=True)
    _, raw = api_key_create(user=request.getfixturevalue(mover))
    headers = {"HTTP_AUTHORIZATION": f"Token {raw}"}
    url = reverse("api:opportunity-move", args=[opportunity.pk])
    client.get(reverse("api:opportunity-list"), **headers)  # first use of a key stamps it
    for _ in range(3):
        forward = opportunity.stage_id == stages[0].pk
        target = stages[1] if forward else stages[0]
        with django_assert_num_queries(OWNER_MOVE["forward" if forward else "backward"] + extra):
            response = client.post(
                url, {"stage": target.pk}, content_type="application/json", **headers
            )
        assert response.status_code == 200, response.content
        opportunity.refresh_from_db()
        assert opportunity.stage_id == target.pk
