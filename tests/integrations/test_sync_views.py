"""The admins' sync section of /integrations/: add, test, enable/disable, sync now, run log."""

import pytest

from epos.models import ExternalRef
from integrations.models import Connection, SyncRun
from integrations.sync import services
from opportunities.models import Activity

pytestmark = pytest.mark.django_db

HOME = "/integrations/"
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


def make_connection(root, export, name="Vivun"):
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name=name,
        settings={"files": {"activities": export}},
    )


def test_an_admin_adds_a_connection_from_the_page(client, root, export):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/", {"name": "Vivun exports", "activities_file": export}
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.settings == {"files": {"activities": export}}
    page = client.get(HOME).content.decode()
    assert f'id="connection-{connection.pk}"' in page
    assert "Added the connection Vivun exports." in page


def test_a_bad_form_is_shown_again_with_its_error(client, root):
    client.force_login(root)

    response = client.post("/integrations/connections/", {"name": "No files", "columns": "{"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Not JSON" in page
    assert not Connection.objects.exists()


def test_a_form_refused_by_the_service_says_why(client, root):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/", {"name": "Relative", "activities_file": "a.csv"}
    )

    assert response.status_code == 400
    assert "must be an absolute path" in response.content.decode()
    assert not Connection.objects.exists()


def test_sync_now_runs_in_process_and_the_log_shows_the_row_errors(
    client, root, export, django_capture_on_commit_callbacks
):
    connection = make_connection(root, export)
    client.force_login(root)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/integrations/connections/{connection.pk}/sync/")

    assert response.status_code == 302
    assert Activity.objects.count() == 1
    page = client.get(HOME).content.decode()
    assert "Partial (some rows failed)" in page
    assert "Line 3: no deal in EPOS matches Opportunity ID &#x27;006NOPE&#x27;" in page
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in page


def test_a_second_sync_now_says_a_run_is_already_queued(client, root, export):
    connection = make_connection(root, export)
    SyncRun.objects.create(connection=connection)
    client.force_login(root)

    client.post(f"/integrations/connections/{connection.pk}/sync/")

    assert "a run is already queued" in client.get(HOME).content.decode()
    assert SyncRun.objects.count() == 1


def test_test_connection_answers_in_plain_words(client, root, export, tmp_path):
    good = make_connection(root, export)
    bad = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Gone",
        settings={"files": {"activities": str(tmp_path / "missing.csv")}},
    )
    client.force_login(root)

    client.post(f"/integrations/connections/{good.pk}/test/")
    first = client.get(HOME).content.decode()
    client.post(f"/integrations/connections/{bad.pk}/test/")
    second = client.get(HOME).content.decode()

    assert "Vivun: Connection works. Found activities (activities.csv)" in first
    assert "Gone: Connection failed. Cannot open" in second
    assert "Needs attention" in second


def test_disable_and_enable(client, root, export):
    connection = make_connection(root, export)
    client.force_login(root)

    client.post(f"/integrations/connections/{connection.pk}/disable/")
    connection.refresh_from_db()
    assert connection.enabled is False
    client.post(f"/integrations/connections/{connection.pk}/enable/")
    connection.refresh_from_db()
    assert connection.enabled is True


@pytest.mark.parametrize("action", ["test", "sync", "enable", "disable"])
def test_non_admins_neither_see_nor_act_on_connections(client, alice, carol, root, export, action):
    connection = make_connection(root, export)
    for user in (alice, carol):
        client.force_login(user)
        assert "Sync connections" not in client.get(HOME).content.decode()
        response = client.post(f"/integrations/connections/{connection.pk}/{action}/")
        assert response.status_code == 404
        assert client.post("/integrations/connections/", {"name": "x"}).status_code == 404
    assert not SyncRun.objects.exists()
    assert Connection.objects.get().enabled is True


def test_the_admin_page_has_a_constant_query_count(client, root, export, django_assert_num_queries):
    first = make_connection(root, export)
    SyncRun.objects.create(connection=first, status=SyncRun.Status.SUCCEEDED, counts={"created": 1})
    client.force_login(root)
    client.get(HOME)

    # session, user, roles, subscriptions, deliveries (an admin sees all: no team query),
    # connections with their last run, recent runs with their connection
    with django_assert_num_queries(7):
        page = client.get(HOME).content.decode()
    assert page.count('id="connection-') == 1
    for n in range(3):
        other = make_connection(root, export, name=f"Other {n}")
        SyncRun.objects.create(connection=other, status=SyncRun.Status.FAILED, message="x")
    with django_assert_num_queries(7):
        page = client.get(HOME).content.decode()
    assert page.count('id="connection-') == 4
    assert page.count('id="run-') == 4


# --- a form per adapter --------------------------------------------------------------------------


def test_the_page_offers_a_form_per_adapter_with_empty_secret_fields(client, root):
    client.force_login(root)

    page = client.get(HOME).content.decode()

    assert 'id="add-vivun_csv"' in page and 'id="add-vivun_salesforce"' in page
    assert 'id="add-vivun_http"' not in page  # behind EPOS_VIVUN_HTTP_EXPORT
    assert 'type="password" name="client_secret"' in page
    assert 'id="id_vivun_salesforce_name"' in page and 'id="id_vivun_csv_name"' in page


def test_an_admin_adds_a_salesforce_connection_and_its_secrets_stay_hidden(client, root):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/",
        {
            "adapter": "vivun_salesforce",
            "name": "Vivun on Salesforce",
            "login_url": "https://acme.my.salesforce.com/",
            "client_id": "3MVG9-consumer-key",
            "client_secret": "very-secret-value",
        },
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert (connection.system, connection.adapter) == ("vivun", "vivun_salesforce")
    assert connection.settings == {"login_url": "https://acme.my.salesforce.com"}
    assert connection.credentials == {
        "client_id": "3MVG9-consumer-key",
        "client_secret": "very-secret-value",
    }
    assert "very-secret-value" not in connection.credentials_encrypted
    page = client.get(HOME).content.decode()
    assert "very-secret-value" not in page and "3MVG9-consumer-key" not in page
    api = client.get(f"/api/v1/connections/{connection.pk}/").json()
    assert api["has_credentials"] is True
    assert "very-secret-value" not in str(api)


def test_a_refused_salesforce_form_comes_back_open_without_its_secret(client, root):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/",
        {
            "adapter": "vivun_salesforce",
            "name": "Bad names",
            "login_url": "https://acme.my.salesforce.com",
            "client_id": "id",
            "client_secret": "very-secret-value",
            "objects": '{"objects": {"activities": "x WHERE 1=1"}}',
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "must be a Salesforce API name" in page
    assert '<details class="connection-form" id="add-vivun_salesforce" open>' in page
    assert "very-secret-value" not in page
    assert not Connection.objects.exists()


def test_an_unknown_adapter_is_refused(client, root):
    client.force_login(root)

    client.post("/integrations/connections/", {"adapter": "vivun_http", "name": "x"})

    assert "cannot be added here" in client.get(HOME).content.decode()
    assert not Connection.objects.exists()


def test_test_connection_of_a_salesforce_connection(client, root, salesforce):
    salesforce.add_object("vh__Activity__c", set())
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_salesforce",
        name="SF",
        settings={
            "login_url": salesforce.login_url,
            "objects": {"product_gaps": "", "deliverables": ""},
        },
        credentials={"client_id": "app-id", "client_secret": "app-secret"},
    )
    client.force_login(root)

    client.post(f"/integrations/connections/{connection.pk}/test/")
    page = client.get(HOME).content.decode()

    assert "SF: Connection failed. vh__Activity__c has no field vh__Opportunity__c" in page
    assert "Needs attention" in page
