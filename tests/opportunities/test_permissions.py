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


# --- the write rules: team, owner and account executive (permissions.assignment_problem) ----

WRITERS = ["alice", "carol", "root"]


def _writers(table):
    return [
        pytest.param(persona, status, id=persona)
        for persona, status in zip(WRITERS, table, strict=True)
    ]


def _patch(request, api, opportunity, persona, payload):
    return _client(request, api, persona).patch(
        reverse("api:opportunity-detail", args=[opportunity.pk]), payload, format="json"
    )


@pytest.mark.parametrize(("persona", "status"), _writers([403, 403, 200]))
def test_clearing_the_team(request, api, opportunity, persona, status):
    response = _patch(request, api, opportunity, persona, {"team": None})
    assert response.status_code == status, response.content
    opportunity.refresh_from_db()
    assert (opportunity.team_id is None) == (status == 200)


@pytest.mark.parametrize(("persona", "status"), _writers([403, 403, 200]))
def test_moving_to_a_team_the_writer_does_not_have(
    request, api, opportunity, other_team, dave, persona, status
):
    # root (an admin) may; the deal then needs an owner of that team, so hand it to dave too.
    response = _patch(request, api, opportunity, persona, {"team": other_team.pk, "owner": dave.pk})
    assert response.status_code == status, response.content
    opportunity.refresh_from_db()
    assert (opportunity.team_id == other_team.pk) == (status == 200)


@pytest.mark.parametrize(("persona", "status"), _writers([403, 403, 200]))
def test_giving_the_deal_to_an_owner_outside_its_team(
    request, api, opportunity, dave, persona, status
):
    response = _patch(request, api, opportunity, persona, {"owner": dave.pk})
    assert response.status_code == status, response.content
    if status == 403:
        assert "must belong to the deal's team" in response.json()["detail"]
    opportunity.refresh_from_db()
    assert (opportunity.owner_id == dave.pk) == (status == 200)


@pytest.mark.parametrize(("persona", "status"), _writers([200, 200, 200]))
def test_giving_the_deal_to_a_teammate(request, api, opportunity, bob, persona, status):
    response = _patch(request, api, opportunity, persona, {"owner": bob.pk})
    assert response.status_code == status, response.content
    opportunity.refresh_from_db()
    assert opportunity.owner_id == bob.pk


@pytest.mark.parametrize(("persona", "status"), _writers([403, 403, 200]))
def test_an_account_executive_outside_the_team(request, api, opportunity, dave, persona, status):
    # An account executive may edit the deal: naming an outsider would hand it to them.
    response = _patch(request, api, opportunity, persona, {"account_executive": dave.pk})
    assert response.status_code == status, response.content
    opportunity.refresh_from_db()
    assert (opportunity.account_executive_id == dave.pk) == (status == 200)


def test_a_manager_creating_for_an_sa_lands_the_deal_in_a_team_they_manage(
    api, carol, alice, team, other_team, process
):
    other_team.members.add(alice)  # alice is in two teams; carol manages only one
    response = api.as_user(carol).post(
        reverse("api:opportunity-list"),
        {"name": "For Alice", "process": process.pk, "owner": alice.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["team"]["id"] == team.pk


def test_a_manager_cannot_create_for_someone_outside_their_teams(api, carol, dave, process):
    response = api.as_user(carol).post(
        reverse("api:opportunity-list"),
        {"name": "For Dave", "process": process.pk, "owner": dave.pk},
        format="json",
    )
    assert response.status_code == 403
    assert not Opportunity.objects.filter(name="For Dave").exists()


def test_the_html_edit_form_applies_the_same_rule(client, alice, opportunity):
    client.force_login(alice)
    url = reverse("opportunities:opportunity-edit", args=[opportunity.pk])
    response = client.post(
        url,
        {
            "name": opportunity.name,
            "amount": "10000",
            "currency": "USD",
            "use_case": opportunity.use_case,
            "owner": alice.pk,
            "team": "",  # the form lets it be blank; the rule does not
            "expected_version": opportunity.version,
        },
    )
    assert response.status_code == 200  # the form again, with the rule's words
    assert "Every opportunity belongs to a team" in response.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.team is not None and opportunity.version == 1
