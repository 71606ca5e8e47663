"""/api/v1/connections/ and /api/v1/sync-runs/: admins only, secrets never returned."""

import pytest

from epos.models import ExternalRef
from integrations.models import Connection, SyncRun
from integrations.sync import services

pytestmark = pytest.mark.django_db

SF_ID = "0065g00000AbCdEAAV"


@pytest.fixture
def export(tmp_path, opportunity):
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    path = tmp_path / "activities.csv"
    path.write_text(
        "Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours\n"
        f"a-1,{SF_ID},Demo,2026-03-04,1\n"
        "a-2,006NOPE,Demo,2026-03-04,1\n"
    )
    return str(path)


@pytest.fixture
def connection(root, export):
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Vivun",
        settings={"files": {"activities": export}},
        credentials={"api_token": "tok-123"},
    )


def test_an_admin_creates_a_connection_and_never_sees_its_secret(api, root, export):
    response = api.as_user(root).post(
        "/api/v1/connections/",
        {
            "system": "vivun",
            "adapter": "vivun_csv",
            "name": "Vivun exports",
            "settings": {"files": {"activities": export}},
            "credentials": {"api_token": "tok-123"},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["has_credentials"] is True
    assert "credentials" not in body and "tok-123" not in response.content.decode()
    assert Connection.objects.get().credentials == {"api_token": "tok-123"}
    listed = api.get("/api/v1/connections/")
    assert "tok-123" not in listed.content.decode()
    assert [c["name"] for c in listed.json()["results"]] == ["Vivun exports"]


def test_bad_settings_and_unavailable_adapters_are_400(api, root):
    client = api.as_user(root)
    bad = client.post(
        "/api/v1/connections/",
        {"system": "vivun", "adapter": "vivun_csv", "name": "x", "settings": {}},
        format="json",
    )
    later = client.post(
        "/api/v1/connections/",
        {"system": "google", "adapter": "google_drive", "name": "y"},
        format="json",
    )
    mismatched = client.post(
        "/api/v1/connections/",
        {"system": "google", "adapter": "vivun_csv", "name": "z"},
        format="json",
    )

    assert bad.status_code == 400 and "settings.files" in bad.json()["detail"]
    # Google Drive is available: without its settings it names what is missing.
    assert later.status_code == 400 and "The shared drive must be" in later.json()["detail"]
    assert mismatched.status_code == 400
    assert not Connection.objects.exists()


def test_patch_changes_what_is_given_and_keeps_the_secret(api, root, connection):
    response = api.as_user(root).patch(
        f"/api/v1/connections/{connection.pk}/", {"enabled": False}, format="json"
    )

    assert response.status_code == 200
    connection.refresh_from_db()
    assert connection.enabled is False
    assert connection.credentials == {"api_token": "tok-123"}


def test_sync_now_answers_202_with_the_run_and_a_second_click_gets_the_same_run(
    api, root, connection, django_capture_on_commit_callbacks
):
    client = api.as_user(root)
    with django_capture_on_commit_callbacks() as callbacks:
        first = client.post(f"/api/v1/connections/{connection.pk}/sync/")
        second = client.post(f"/api/v1/connections/{connection.pk}/sync/")

    assert first.status_code == second.status_code == 202
    assert first.json()["created"] is True and second.json()["created"] is False
    assert first.json()["run"]["id"] == second.json()["run"]["id"]
    assert first.json()["run"]["status"] == "queued"
    assert SyncRun.objects.count() == 1
    assert len(callbacks) == 1


def test_the_run_log_shows_counts_and_row_errors(
    api, root, connection, django_capture_on_commit_callbacks
):
    client = api.as_user(root)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = client.post(f"/api/v1/connections/{connection.pk}/sync/").json()["run"]["id"]

    detail = client.get(f"/api/v1/sync-runs/{run_id}/").json()
    listed = client.get(f"/api/v1/sync-runs/?connection={connection.pk}").json()["results"]
    other = client.get(f"/api/v1/sync-runs/?connection={connection.pk + 1}").json()["results"]

    assert detail["status"] == "partial"
    assert detail["counts"] == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "failed": 1,
    }
    assert detail["errors"] == [
        {"row": 3, "reason": "no deal in EPOS matches Opportunity ID '006NOPE'"}
    ]
    assert detail["started_at"] and detail["finished_at"]
    assert [run["id"] for run in listed] == [run_id]
    assert other == []


def test_sync_of_a_disabled_connection_is_409(api, root, connection):
    services.connection_update(actor=root, connection=connection, enabled=False)

    response = api.as_user(root).post(f"/api/v1/connections/{connection.pk}/sync/")

    assert response.status_code == 409
    assert not SyncRun.objects.exists()


def test_test_connection_answers_in_plain_words(api, root, connection):
    response = api.as_user(root).post(f"/api/v1/connections/{connection.pk}/test/")

    assert response.json() == {
        "ok": True,
        "message": "Found activities (activities.csv) with the expected columns.",
    }


def test_delete_removes_the_connection_and_its_runs(api, root, connection):
    SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)

    response = api.as_user(root).delete(f"/api/v1/connections/{connection.pk}/")

    assert response.status_code == 204
    assert not Connection.objects.exists() and not SyncRun.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "carol", "erin", "nobody"])
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/connections/"),
        ("post", "/api/v1/connections/"),
        ("get", "/api/v1/connections/{id}/"),
        ("patch", "/api/v1/connections/{id}/"),
        ("delete", "/api/v1/connections/{id}/"),
        ("post", "/api/v1/connections/{id}/sync/"),
        ("post", "/api/v1/connections/{id}/test/"),
        ("get", "/api/v1/sync-runs/"),
        ("get", "/api/v1/sync-runs/{run}/"),
    ],
)
def test_only_admins_may_use_the_sync_api(api, request, persona, method, path, connection):
    run = SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)
    user = request.getfixturevalue(persona)

    response = getattr(api.as_user(user), method)(
        path.format(id=connection.pk, run=run.pk), {}, format="json"
    )

    assert response.status_code == 403
    assert SyncRun.objects.count() == 1
    assert Connection.objects.get().name == "Vivun"


def test_anonymous_callers_are_refused(api, connection):
    assert api.get("/api/v1/connections/").status_code in (401, 403)


@pytest.mark.parametrize("path", ["/api/v1/connections/", "/api/v1/sync-runs/"])
def test_the_list_endpoints_have_a_constant_query_count(
    api, root, connection, path, django_assert_num_queries
):
    client = api.as_user(root)
    SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)
    client.get(path)  # the key's first use is recorded once

    # the API key with its user, the user's roles, the page's count, the page
    with django_assert_num_queries(4):
        assert len(client.get(path).json()["results"]) == 1
    for n in range(3):
        services.connection_create(
            actor=root,
            system="vivun",
            adapter="vivun_csv",
            name=f"More {n}",
            settings=connection.settings,
        )
        SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)
    with django_assert_num_queries(4):
        assert len(client.get(path).json()["results"]) == 4


# Found by tests/security/test_api_fuzz.py on SQLite: a "number" of 128 digits was a 500.
@pytest.mark.parametrize(
    "connection", ["-7.40977499632277e+127", "1.5", "١٢", "99999999999999999999"]
)
def test_a_run_filter_that_is_no_id_is_a_400(api, root, connection):
    response = api.as_user(root).get("/api/v1/sync-runs/", {"connection": connection})
    assert response.status_code == 400
    assert "connection" in response.json()
