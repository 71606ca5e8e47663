from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from epos.models import OutboxMessage
from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from tests import factories

pytestmark = pytest.mark.django_db


def move_url(opportunity):
    return reverse("api:opportunity-move", args=[opportunity.pk])


def complete_stage(opportunity, stage):
    for item in stage.items.all():
        ChecklistCompletion.objects.create(opportunity=opportunity, item=item, done=True)


# --- create, read, update ------------------------------------------------------------------


def test_create_answers_201_with_the_new_opportunity(api, alice, process, stages):
    response = api.as_user(alice).post(
        reverse("api:opportunity-list"),
        {
            "name": "Globex SIEM",
            "process": process.pk,
            "amount": "25000.00",
            "use_case": "security",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Globex SIEM"
    assert body["stage"]["id"] == stages[0].pk
    assert body["owner"]["username"] == "alice"
    assert body["amount"] == "25000.00" and body["version"] == 1
    assert StageTransition.objects.filter(opportunity_id=body["id"]).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "process": None}, "name"),
        ({"name": "x", "process": 999999}, "process"),
        ({"name": "x", "amount": "-5"}, "amount"),
        ({"name": "x", "use_case": "astrology"}, "use_case"),
        ({"name": "x", "expected_close_date": "31/12/2026"}, "expected_close_date"),
    ],
)
def test_create_with_invalid_fields_is_a_400_naming_the_field(api, alice, process, payload, field):
    payload = {"process": process.pk, **payload}
    if payload["process"] is None:
        del payload["process"]
    response = api.as_user(alice).post(reverse("api:opportunity-list"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Opportunity.objects.exists()


def test_malformed_json_is_a_400(api, alice):
    response = api.as_user(alice).post(
        reverse("api:opportunity-list"), data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_update_with_a_stale_version_is_a_409(api, alice, opportunity):
    response = api.as_user(alice).patch(
        reverse("api:opportunity-detail", args=[opportunity.pk]),
        {"amount": "1.00", "expected_version": 5},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["current_version"] == 1
    opportunity.refresh_from_db()
    assert str(opportunity.amount) == "10000.00"


def test_update_cannot_change_the_stage(api, alice, opportunity, stages):
    response = api.as_user(alice).patch(
        reverse("api:opportunity-detail", args=[opportunity.pk]),
        {"name": "Renamed", "stage": stages[2].pk},
        format="json",
    )
    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.stage, opportunity.version) == ("Renamed", stages[0], 2)


def test_filters_narrow_the_list(api, alice, team, stages):
    factories.OpportunityFactory(
        name="Obs deal", stage=stages[0], owner=alice, team=team, use_case="observability"
    )
    factories.OpportunityFactory(
        name="Sec deal", stage=stages[0], owner=alice, team=team, use_case="security"
    )
    client = api.as_user(alice)

    def names(query):
        return sorted(
            o["name"] for o in client.get(reverse("api:opportunity-list") + query).json()["results"]
        )

    assert names("?use_case=security") == ["Sec deal"]
    assert names("?search=obs") == ["Obs deal"]
    assert names("?outcome=won") == []
    assert (
        client.get(reverse("api:opportunity-list") + "?created_after=yesterday").status_code == 400
    )


def test_page_size_is_capped(api, root, stages):
    for _ in range(3):
        factories.OpportunityFactory(stage=stages[0])
    response = api.as_user(root).get(reverse("api:opportunity-list") + "?page_size=100000")
    assert response.status_code == 200
    assert response.json()["count"] == 3


# --- move ------------------------------------------------------------------------------------


def test_move_answers_200_with_the_moved_opportunity(api, alice, opportunity, stages):
    complete_stage(opportunity, stages[0])
    response = api.as_user(alice).post(
        move_url(opportunity),
        {"stage": stages[1].pk, "note": "demo", "expected_version": 1},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["stage"]["id"] == stages[1].pk
    assert response.json()["version"] == 2


@pytest.mark.parametrize("mover", ["alice", "carol", "root"])
def test_a_moves_answer_is_the_deal_as_reading_it_answers(
    api, request, bob, mover, opportunity, stages
):
    # Every printed kind of value: nested people and names, a decimal, a date, times.
    opportunity.account_executive = bob
    opportunity.amount = Decimal("1234.5")
    opportunity.expected_close_date = date(2031, 5, 17)
    opportunity.save()
    complete_stage(opportunity, stages[0])
    client = api.as_user(request.getfixturevalue(mover))
    moved = client.post(move_url(opportunity), {"stage": stages[1].pk}, format="json")
    read = client.get(reverse("api:opportunity-detail", args=[opportunity.pk]))
    assert moved.status_code == read.status_code == 200, moved.content
    assert moved.json() == read.json()
    assert read.json()["stage"]["id"] == stages[1].pk
    assert read.json()["account_executive"]["username"] == "bob"
    assert read.json()["amount"] == "1234.50"


@pytest.mark.parametrize("deal", ["alices", "missing"])
def test_moving_a_deal_one_may_not_see_is_the_404_of_reading_it(
    api, dave, deal, opportunity, stages
):
    pk = opportunity.pk if deal == "alices" else opportunity.pk + 1000
    client = api.as_user(dave)
    moved = client.post(
        reverse("api:opportunity-move", args=[pk]), {"stage": stages[1].pk}, format="json"
    )
    read = client.get(reverse("api:opportunity-detail", args=[pk]))
    assert moved.status_code == read.status_code == 404
    assert moved.json() == read.json()
    assert StageTransition.objects.filter(opportunity=opportunity).count() == 1


def test_a_move_of_an_id_that_is_none_is_the_404_of_reading_it(api, alice, stages):
    client = api.as_user(alice)
    moved = client.post("/api/v1/opportunities/abc/move/", {"stage": stages[1].pk}, format="json")
    read = client.get("/api/v1/opportunities/abc/")
    assert moved.status_code == read.status_code == 404
    assert moved.json() == read.json()


def test_a_teammate_who_sees_the_deal_may_not_move_it(api, bob, opportunity, stages):
    complete_stage(opportunity, stages[0])
    response = api.as_user(bob).post(move_url(opportunity), {"stage": stages[1].pk}, format="json")
    assert response.status_code == 403
    assert StageTransition.objects.filter(opportunity=opportunity).count() == 1


def test_move_blocked_by_a_gate_is_a_409_listing_the_open_items(api, alice, opportunity, stages):
    response = api.as_user(alice).post(
        move_url(opportunity), {"stage": stages[1].pk}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    expected = [
        {"id": i.pk, "title": i.title, "stage_id": stages[0].pk, "stage": "Discovery"}
        for i in stages[0].items.order_by("position")
    ]
    assert body["unmet_items"] == expected
    assert StageTransition.objects.filter(opportunity=opportunity).count() == 1


def test_move_with_a_stale_version_is_a_409(api, alice, opportunity, stages):
    complete_stage(opportunity, stages[0])
    response = api.as_user(alice).post(
        move_url(opportunity), {"stage": stages[1].pk, "expected_version": 3}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["unmet_items"] == []
    assert "changed" in response.json()["detail"]


def test_move_to_a_stage_of_another_process_is_a_400(api, alice, opportunity):
    _, foreign = factories.make_process(("Elsewhere",))
    response = api.as_user(alice).post(
        move_url(opportunity), {"stage": foreign[0].pk}, format="json"
    )
    assert response.status_code == 400
    assert "another process" in response.json()["detail"]


@pytest.mark.parametrize("payload", [{}, {"stage": "abc"}, {"stage": 987654}, {"stage": None}])
def test_move_with_a_bad_stage_is_a_400(api, alice, opportunity, payload):
    response = api.as_user(alice).post(move_url(opportunity), payload, format="json")
    assert response.status_code == 400
    assert "stage" in response.json()


def test_move_to_lost_without_a_reason_is_a_400(api, alice, opportunity, stages):
    response = api.as_user(alice).post(
        move_url(opportunity), {"stage": stages[-1].pk}, format="json"
    )
    assert response.status_code == 400
    assert "loss_reason" in response.json()["detail"]
    opportunity.refresh_from_db()
    assert opportunity.outcome == "open"


def test_manager_override_through_the_api(api, carol, opportunity, stages):
    response = api.as_user(carol).post(
        move_url(opportunity),
        {"stage": stages[1].pk, "override_reason": "CFO signed off"},
        format="json",
    )
    assert response.status_code == 200
    assert (
        StageTransition.objects.filter(opportunity=opportunity).last().override_reason
        == "CFO signed off"
    )


def test_transitions_lists_the_history(api, alice, opportunity, stages):
    complete_stage(opportunity, stages[0])
    client = api.as_user(alice)
    client.post(move_url(opportunity), {"stage": stages[1].pk}, format="json")
    response = client.get(reverse("api:opportunity-transitions", args=[opportunity.pk]))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["from_stage"] and r["from_stage"]["id"], r["to_stage"]["id"]) for r in rows] == [
        (None, stages[0].pk),
        (stages[0].pk, stages[1].pk),
    ]


def test_checklist_put_ticks_an_item(api, alice, opportunity, stages):
    item = stages[0].items.first()
    url = reverse("api:opportunity-checklist-item", args=[opportunity.pk, item.pk])
    response = api.as_user(alice).put(
        url, {"done": True, "evidence_url": "https://docs.example.com/d/1"}, format="json"
    )
    assert response.status_code == 200
    completion = ChecklistCompletion.objects.get(opportunity=opportunity, item=item)
    assert completion.done and completion.done_by == alice
    assert completion.evidence_url == "https://docs.example.com/d/1"


def test_checklist_put_validates(api, alice, opportunity, stages):
    item = stages[0].items.first()
    url = reverse("api:opportunity-checklist-item", args=[opportunity.pk, item.pk])
    client = api.as_user(alice)
    assert client.put(url, {"done": "maybe"}, format="json").status_code == 400
    assert (
        client.put(url, {"done": True, "evidence_url": "not a url"}, format="json").status_code
        == 400
    )
    foreign = factories.StageItemFactory()
    foreign_url = reverse("api:opportunity-checklist-item", args=[opportunity.pk, foreign.pk])
    assert client.put(foreign_url, {"done": True}, format="json").status_code == 400
    missing = reverse("api:opportunity-checklist-item", args=[opportunity.pk, 999999])
    assert client.put(missing, {"done": True}, format="json").status_code == 404
    assert not ChecklistCompletion.objects.exists()


# --- records on a deal ---------------------------------------------------------------------


def test_activity_esat_and_gap_are_created_for_a_visible_deal(api, alice, opportunity):
    client = api.as_user(alice)
    activity = client.post(
        reverse("api:activity-list"),
        {
            "opportunity": opportunity.pk,
            "kind": "demo",
            "summary": "D2W demo",
            "duration_minutes": 60,
        },
        format="json",
    )
    esat = client.post(
        reverse("api:esat-response-list"),
        {"opportunity": opportunity.pk, "score": 5},
        format="json",
    )
    gap = client.post(
        reverse("api:product-gap-list"),
        {"opportunity": opportunity.pk, "title": "No SAML", "severity": "deal_breaker"},
        format="json",
    )
    assert (activity.status_code, esat.status_code, gap.status_code) == (201, 201, 201)
    assert esat.json()["stage"] == opportunity.stage_id
    assert OutboxMessage.objects.filter(topic="esat.received").count() == 1


def test_esat_score_out_of_range_is_a_400(api, alice, opportunity):
    response = api.as_user(alice).post(
        reverse("api:esat-response-list"),
        {"opportunity": opportunity.pk, "score": 9},
        format="json",
    )
    assert response.status_code == 400
    assert "score" in response.json()


def test_records_on_an_invisible_deal_are_refused_as_unknown(api, dave, opportunity):
    response = api.as_user(dave).post(
        reverse("api:activity-list"), {"opportunity": opportunity.pk, "kind": "call"}, format="json"
    )
    assert response.status_code == 400
    assert "opportunity" in response.json()
    assert not opportunity.activities.exists()


def test_deleting_an_account_in_use_is_a_409(api, carol, opportunity):
    response = api.as_user(carol).delete(
        reverse("api:account-detail", args=[opportunity.account_id])
    )
    assert response.status_code == 409
    assert opportunity.account.__class__.objects.filter(pk=opportunity.account_id).exists()


# --- authentication ---------------------------------------------------------------------------


def test_no_credentials_is_a_401(api, opportunity):
    response = api.get(reverse("api:opportunity-list"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_or_revoked_key_is_a_401(api, alice):
    from epos.services import api_key_create, api_key_revoke

    api.credentials(HTTP_AUTHORIZATION="Token epos_wrong")
    assert api.get(reverse("api:opportunity-list")).status_code == 401
    key, raw = api_key_create(user=alice)
    api_key_revoke(key=key)
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get(reverse("api:opportunity-list")).status_code == 401


def test_session_authentication_works_and_needs_csrf(client, alice, opportunity, stages):
    from rest_framework.test import APIClient

    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    assert csrf_client.get(reverse("api:opportunity-list")).status_code == 200
    response = csrf_client.post(
        move_url(opportunity), {"stage": stages[-1].pk, "loss_reason": "x"}, format="json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
