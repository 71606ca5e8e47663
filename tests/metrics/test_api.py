import pytest
from django.urls import reverse
from pytest import approx

from metrics.selectors import SUMMARY_FIELDS
from tests import factories
from tests.metrics.conftest import PERIOD, day

pytestmark = pytest.mark.django_db

SUMMARY = reverse("api:metrics-summary")
FUNNEL = reverse("api:metrics-funnel")
TIME_IN_STAGE = reverse("api:metrics-time-in-stage")


def test_summary_has_the_documented_fields_with_hand_computed_values(api, pipeline, carol):
    response = api.as_user(carol).get(SUMMARY, {"process": pipeline.process.pk, **PERIOD})

    assert response.status_code == 200
    body = response.json()
    assert set(SUMMARY_FIELDS) <= set(body)
    assert "groups" not in body
    assert (body["won_count"], body["lost_count"], body["open_count"]) == (3, 1, 2)
    assert body["win_rate"] == 0.75
    assert body["mttc_days"] == approx(27.3333, abs=1e-4)
    assert body["mttc_median_days"] == 30
    assert body["mttc_p90_days"] == 38
    assert body["mttl_days"] == 20
    assert body["cycle_days_closed_mean"] == 25.5
    assert body["avg_won_amount"] == 20_000
    assert body["won_amount_total"] == 60_000
    assert body["pipeline_amount"] == 48_000
    assert body["weighted_pipeline_amount"] == 17_600
    assert body["period_start"].startswith("2025-01-01T00:00:00")


def test_summary_is_null_where_undefined(api, carol, stages):
    body = api.as_user(carol).get(SUMMARY).json()
    assert body["won_count"] == 0
    for name in ("win_rate", "mttc_days", "mttc_median_days", "mttc_p90_days", "avg_won_amount"):
        assert body[name] is None


def test_summary_group_by_owner_adds_labelled_groups(api, pipeline, carol, alice, bob):
    body = (
        api.as_user(carol)
        .get(SUMMARY, {"process": pipeline.process.pk, "group_by": "owner", **PERIOD})
        .json()
    )

    assert [(g["key"], g["label"]) for g in body["groups"]] == [
        (alice.pk, "Alice Archer"),
        (bob.pk, "Bob Baker"),
    ]
    assert body["groups"][0]["mttc_days"] == 21
    assert body["groups"][1]["win_rate"] == 0.5
    assert set(SUMMARY_FIELDS) <= set(body["groups"][0])
    assert body["group_by"] == "owner"


def test_summary_group_by_month(api, pipeline, carol):
    body = (
        api.as_user(carol)
        .get(SUMMARY, {"process": pipeline.process.pk, "group_by": "month", **PERIOD})
        .json()
    )
    assert [g["key"] for g in body["groups"]] == ["2025-01", "2025-02", None]


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "colour"},
        {"closed_after": "last tuesday"},
        {"closed_after": "2025-06-01", "closed_before": "2025-01-01"},
        {"use_case": "cooking"},
    ],
)
def test_summary_refuses_bad_parameters(api, carol, params):
    response = api.as_user(carol).get(SUMMARY, params)
    assert response.status_code == 400
    assert response.json()


def test_summary_filters_like_the_opportunity_list(api, pipeline, carol, alice):
    body = (
        api.as_user(carol)
        .get(SUMMARY, {"process": pipeline.process.pk, "owner": alice.pk, "product": "APM"})
        .json()
    )
    # alice's APM deals: A and B won, F open
    assert (body["won_count"], body["open_count"]) == (2, 1)


def test_sa_sees_their_own_teams_figures_only(api, pipeline, dave):
    body = api.as_user(dave).get(SUMMARY, {"process": pipeline.process.pk, **PERIOD}).json()
    assert (body["won_count"], body["mttc_days"]) == (1, 50)  # H only


def test_anonymous_gets_401_and_a_user_without_role_403(api, client, nobody):
    assert client.get(SUMMARY).status_code == 401
    assert api.as_user(nobody).get(SUMMARY).status_code == 403
    assert api.as_user(nobody).get(FUNNEL).status_code == 403


@pytest.mark.parametrize("persona", ["alice", "carol", "erin", "root"])
def test_every_role_may_read_metrics(api, pipeline, request, persona):
    user = request.getfixturevalue(persona)
    response = api.as_user(user).get(SUMMARY, {"process": pipeline.process.pk})
    assert response.status_code == 200


def test_metrics_endpoints_are_read_only(api, carol):
    assert api.as_user(carol).post(SUMMARY, {}).status_code == 405


def test_funnel_by_stage(api, pipeline, carol):
    response = api.as_user(carol).get(FUNNEL, {"process": pipeline.process.pk, **PERIOD})

    assert response.status_code == 200
    stages = response.json()["stages"]
    assert [(s["name"], s["entered"], s["converted"]) for s in stages] == [
        ("Discovery", 7, 5),
        ("Demo", 4, 2),
        ("Proposal", 3, 3),
        ("Won", 3, None),
    ]
    assert stages[1]["conversion_rate"] == 0.5


def test_funnel_and_time_in_stage_need_a_process(api, carol):
    for url in (FUNNEL, TIME_IN_STAGE):
        response = api.as_user(carol).get(url)
        assert response.status_code == 400
        assert "process" in response.json()["detail"]


def test_time_in_stage_by_stage(api, pipeline, carol):
    response = api.as_user(carol).get(TIME_IN_STAGE, {"process": pipeline.process.pk, **PERIOD})

    assert response.status_code == 200
    stages = {s["name"]: s for s in response.json()["stages"]}
    assert list(stages) == ["Discovery", "Demo", "Proposal"]
    assert stages["Demo"]["completed_visits"] == 4
    assert stages["Demo"]["mean_days"] == 8.5
    assert stages["Demo"]["median_days"] == 10
    assert stages["Demo"]["p90_days"] == 11.4
    assert stages["Demo"]["open_visits"] == 1
    assert stages["Demo"]["open_over_target"] == 1
    assert stages["Proposal"]["open_age_mean_days"] is None


def test_summary_group_by_query_count_does_not_grow_with_groups(
    api, pipeline, carol, team, django_assert_num_queries
):
    from django.db import connection

    client = api.as_user(carol)
    params = {"process": pipeline.process.pk, "group_by": "owner", **PERIOD}
    client.get(SUMMARY, params)  # the key's first use stamps last_used_at
    # key + user, roles, teams, process filter, summary, grouped summary, the owners' names,
    # the groups' MTTC percentiles (+ the summary's durations on SQLite, which has no
    # percentile aggregate)
    expected = 8 if connection.vendor == "postgresql" else 9
    counts = []
    for extra_owners in (0, 4):
        for index in range(extra_owners):
            owner = factories.UserFactory(role="sa")
            team.members.add(owner)
            factories.OpportunityFactory(
                stage=pipeline.discovery, owner=owner, team=team, created_at=day(1 + index)
            )
        with django_assert_num_queries(expected):
            response = client.get(SUMMARY, params)
        counts.append(len(response.json()["groups"]))
    assert counts == [2, 6]


def test_schema_documents_the_metrics_endpoints(client, alice):
    client.force_login(alice)
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    summary = schema["paths"]["/api/v1/metrics/summary/"]["get"]
    parameters = {parameter["name"] for parameter in summary["parameters"]}
    assert {"group_by", "closed_after", "closed_before", "process", "team", "segment"} <= parameters
    assert "/api/v1/metrics/funnel/" in schema["paths"]
    assert "/api/v1/metrics/time-in-stage/" in schema["paths"]
