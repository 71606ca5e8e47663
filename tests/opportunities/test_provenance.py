"""Where an ESAT answer or an activity came from is said by the survey link, a sync job, an
integration's key or an admin, never by a person writing through the API
(`permissions.record_source`)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from epos.services import api_key_create
from opportunities.models import Activity, EsatResponse
from tests import factories

pytestmark = pytest.mark.django_db

ESAT_URL = "api:esat-response-list"


def _key_client(api, user, system=""):
    _, raw = api_key_create(user=user, system=system)
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return api


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"source": "survey"}, "source"),
        ({"received_at": "2025-01-01T00:00:00Z"}, "received_at"),
        ({"respondent_email": "cto@example.com"}, "respondent_email"),
    ],
)
def test_an_sa_cannot_say_where_an_esat_answer_came_from(api, alice, opportunity, extra, field):
    response = _key_client(api, alice).post(
        reverse(ESAT_URL), {"opportunity": opportunity.pk, "score": 5, **extra}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["detail"]
    assert not EsatResponse.objects.exists()


def test_an_sas_esat_answer_is_manual_and_received_now(api, alice, opportunity):
    response = _key_client(api, alice).post(
        reverse(ESAT_URL), {"opportunity": opportunity.pk, "score": 4}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["respondent_email"]) == ("manual", "")


def test_an_integration_key_records_its_system_and_may_date_the_answer(api, alice, opportunity):
    response = _key_client(api, alice, system="zapier").post(
        reverse(ESAT_URL),
        {
            "opportunity": opportunity.pk,
            "score": 4,
            "received_at": "2025-02-03T10:00:00Z",
            "respondent_email": "cto@example.com",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "zapier" and body["received_at"].startswith("2025-02-03")
    # ... but not as another system
    forged = api.post(
        reverse(ESAT_URL),
        {"opportunity": opportunity.pk, "score": 1, "source": "survey"},
        format="json",
    )
    assert forged.status_code == 400


def test_an_admin_may_record_a_survey_answer(api, root, opportunity):
    response = _key_client(api, root).post(
        reverse(ESAT_URL),
        {"opportunity": opportunity.pk, "score": 5, "source": "survey"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "survey"


@pytest.mark.parametrize(("extra"), [{"source": "vivun"}, {"external_id": "VIV-1"}])
def test_an_sas_activity_is_manual(api, alice, opportunity, extra):
    client = _key_client(api, alice)
    refused = client.post(
        reverse("api:activity-list"),
        {"opportunity": opportunity.pk, "kind": "call", **extra},
        format="json",
    )
    assert refused.status_code == 400, refused.content
    created = client.post(
        reverse("api:activity-list"), {"opportunity": opportunity.pk, "kind": "call"}, format="json"
    )
    assert created.status_code == 201
    assert Activity.objects.get().source == "manual"


def test_patch_keeps_provenance_and_the_process_of_the_stage(api, alice, opportunity, stages):
    answer = EsatResponse.objects.create(
        opportunity=opportunity,
        stage=stages[0],
        score=3,
        source="survey",
        received_at=timezone.now(),
    )
    url = reverse("api:esat-response-detail", args=[answer.pk])
    client = _key_client(api, alice)
    assert client.patch(url, {"source": "manual"}, format="json").status_code == 400
    other_stage = factories.make_process(("Elsewhere",))[1][0]
    wrong = client.patch(url, {"stage": other_stage.pk}, format="json")
    assert wrong.status_code == 400
    assert "another process" in wrong.json()["detail"]
    same = client.patch(url, {"score": 3, "source": "survey"}, format="json")  # changes nothing
    assert same.status_code == 200
    answer.refresh_from_db()
    assert (answer.source, answer.stage_id, answer.score) == ("survey", stages[0].pk, 3)
    assert client.patch(url, {"score": 4}, format="json").status_code == 200
    answer.refresh_from_db()
    assert answer.score == 4
