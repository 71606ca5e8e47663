"""The role × endpoint × action matrix for the opportunity API.

alice (SA) owns the deal in her team; bob is her teammate (SA); carol manages the team; dave is
an SA in another team; erin is a curator; root is an admin; nobody has no role.
"""

import pytest
from django.urls import reverse

from opportunities.models import Opportunity

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "carol", "dave", "erin", "root", "nobody", "anonymous"]


def _client(request, api, persona):
    if persona == "anonymous":
        return api
    return api.as_user(request.getfixturevalue(persona))


def _expect(table):
    return [
        pytest.param(persona, status, id=persona)
        for persona, status in zip(PERSONAS, table, strict=True)
    ]


@pytest.mark.parametrize(("persona", "status"), _expect([200, 200, 200, 404, 200, 200, 403, 401]))
def test_retrieve(request, api, opportunity, persona, status):
    response = _client(request, api, persona).get(
        reverse("api:opportunity-detail", args=[opportunity.pk])
    )
    assert response.status_code == status


@pytest.mark.parametrize(("persona", "status"), _expect([200, 200, 200, 404, 200, 200, 403, 401]))
def test_transitions(request, api, opportunity, persona, status):
    response = _client(request, api, persona).get(
        reverse("api:opportunity-transitions", args=[opportunity.pk])
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    ("persona", "visible"),
    [("alice", 1), ("bob", 1), ("carol", 1), ("dave", 0), ("erin", 1), ("root", 1)],
)
def test_list_shows_only_visible_deals(request, api, opportunity, persona, visible):
    response = _client(request, api, persona).get(reverse("api:opportunity-list"))
    assert response.status_code == 200
    assert response.json()["count"] == visible


@pytest.mark.parametrize(("persona", "status"), [("nobody", 403), ("anonymous", 401)])
def test_list_needs_a_role(request, api, opportunity, persona, status):
    assert _client(request, api, persona).get(reverse("api:opportunity-list")).status_code == status


@pytest.mark.parametrize(("persona", "status"), _expect([200, 403, 200, 404, 403, 200, 403, 401]))
def test_update(request, api, opportunity, persona, status):
    response = _client(request, api, persona).patch(
        reverse("api:opportunity-detail", args=[opportunity.pk]), {"name": "Changed"}, format="json"
    )
    assert response.status_code == status
    opportunity.refresh_from_db()
    assert (opportunity.name == "Changed") == (status == 200)


@pytest.mark.parametrize(("persona", "status"), _expect([200, 403, 200, 404, 403, 200, 403, 401]))
def test_move(request, api, opportunity, stages, persona, status):
    response = _client(request, api, persona).post(
        reverse("api:opportunity-move", args=[opportunity.pk]),
        {"stage": stages[-1].pk, "loss_reason": "Chose a competitor"},
        format="json",
    )
    assert response.status_code == status
    opportunity.refresh_from_db()
    assert opportunity.transitions.count() == (2 if status == 200 else 1)


@pytest.mark.parametrize(("persona", "status"), _expect([200, 403, 200, 404, 403, 200, 403, 401]))
def test_checklist(request, api, opportunity, stages, persona, status):
    item = stages[0].items.first()
    response = _client(request, api, persona).put(
        reverse("api:opportunity-checklist-item", args=[opportunity.pk, item.pk]),
        {"done": True},
        format="json",
    )
    assert response.status_code == status
    assert opportunity.checklist.filter(done=True).exists() == (status == 200)


@pytest.mark.parametrize(("persona", "status"), _expect([403, 403, 204, 404, 403, 204, 403, 401]))
def test_delete(request, api, opportunity, persona, status):
    response = _client(request, api, persona).delete(
        reverse("api:opportunity-detail", args=[opportunity.pk])
    )
    assert response.status_code == status
    assert Opportunity.objects.filter(pk=opportunity.pk).exists() == (status != 204)


@pytest.mark.parametrize(("persona", "status"), _expect([201, 201, 201, 201, 403, 201, 403, 401]))
def test_create(request, api, process, persona, status):
    response = _client(request, api, persona).post(
        reverse("api:opportunity-list"), {"name": "New", "process": process.pk}, format="json"
    )
    assert response.status_code == status
    assert Opportunity.objects.filter(name="New").exists() == (status == 201)


@pytest.mark.parametrize(("persona", "status"), _expect([201, 403, 201, 400, 403, 201, 403, 401]))
def test_add_activity(request, api, opportunity, persona, status):
    response = _client(request, api, persona).post(
        reverse("api:activity-list"), {"opportunity": opportunity.pk, "kind": "call"}, format="json"
    )
    assert response.status_code == status
    assert opportunity.activities.exists() == (status == 201)


@pytest.mark.parametrize(("persona", "status"), _expect([200, 200, 200, 200, 200, 200, 403, 401]))
def test_processes(request, api, process, persona, status):
    response = _client(request, api, persona).get(reverse("api:process-list"))
    assert response.status_code == status


@pytest.mark.parametrize(("persona", "status"), _expect([201, 201, 201, 201, 403, 201, 403, 401]))
def test_create_account(request, api, persona, status):
    response = _client(request, api, persona).post(
        reverse("api:account-list"), {"name": "Initech", "segment": "smb"}, format="json"
    )
    assert response.status_code == status


@pytest.mark.parametrize(("persona", "status"), _expect([403, 403, 204, 403, 403, 204, 403, 401]))
def test_delete_account(request, api, persona, status):
    from tests.factories import AccountFactory

    account = AccountFactory()
    response = _client(request, api, persona).delete(
        reverse("api:account-detail", args=[account.pk])
    )
    assert response.status_code == status


def test_sa_cannot_move_a_deal_into_another_team(api, alice, opportunity, other_team):
    response = api.as_user(alice).patch(
        reverse("api:opportunity-detail", args=[opportunity.pk]),
        {"team": other_team.pk},
        format="json",
    )
    assert response.status_code == 403
    opportunity.refresh_from_db()
    assert opportunity.team.name == "Observability EMEA"
