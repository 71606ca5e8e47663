"""The Salesforce adapter: `simple-salesforce` against a fake org over TLS on loopback.

The org pages its query results (two records a page), logs in with the client-credentials flow,
answers 401 for an expired session, and fails on request with 429, 5xx or Salesforce's request
limit.
"""

import json
from datetime import UTC, datetime

import pytest

from epos.lib.errors import InvalidInput
from epos.models import ExternalRef, OutboxMessage
from integrations.models import Connection, SyncedItem, SyncRun
from integrations.sync import services
from integrations.sync.ports import TransientSourceError
from opportunities.models import Activity, ProductGap

pytestmark = pytest.mark.django_db

SF_ID = "0065g00000AbCdEAAV"
ACTIVITY, GAP, DELIVERABLE = "vh__Activity__c", "vh__Product_Gap__c", "vh__Deliverable__c"


@pytest.fixture
def deal(opportunity):
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    return opportunity


@pytest.fixture
def org(salesforce):
    salesforce.add_object(
        ACTIVITY,
        {
            "vh__Opportunity__c",
            "vh__Type__c",
            "vh__Date__c",
            "vh__Hours__c",
            "vh__Subject__c",
            "vh__Notes__c",
        },
    )
    salesforce.add_object(
        GAP, {"vh__Opportunity__c", "vh__Description__c", "vh__Impact__c", "vh__Status__c"}
    )
    salesforce.add_object(
        DELIVERABLE,
        {"vh__Opportunity__c", "vh__Type__c", "vh__Status__c", "vh__Completed_Date__c"},
    )
    return salesforce


def add_activity(org, number: int, stamp="2026-03-04T10:00:00.000+0000", **values):
    record = {
        "Id": f"a0B{number:015d}",
        "vh__Opportunity__c": SF_ID,
        "vh__Type__c": "Demo",
        "vh__Date__c": "2026-03-04",
        "vh__Hours__c": 1.5,
        "vh__Subject__c": f"Demo {number}",
        "vh__Notes__c": None,
        "Owner": {"Email": "ALICE@Example.com"},
        "SystemModstamp": stamp,
    }
    return org.add(ACTIVITY, **(record | values))


@pytest.fixture
def connection(root, org):
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_salesforce",
        name="Vivun on Salesforce",
        settings={"login_url": org.login_url},
        credentials={"client_id": "app-id", "client_secret": "app-secret"},
    )


def run_now(connection, capture):
    with capture(execute=True):
        run, created = services.sync_request(actor=None, connection=connection)
    assert created
    run.refresh_from_db()
    connection.refresh_from_db()
    return run


def test_a_run_reads_every_page_and_writes_what_vivun_holds(
    deal, alice, org, connection, django_capture_on_commit_callbacks
):
    for number in range(1, 6):
        add_activity(org, number, stamp=f"2026-03-0{number}T10:00:00.000+0000")
    org.add(
        GAP,
        Id="a0C000000000000001",
        Name="SAML group sync",
        vh__Opportunity__c=SF_ID,
        vh__Description__c="Needs SCIM",
        vh__Impact__c="Deal Breaker",
        vh__Status__c="In Progress",
        CreatedBy={"Email": "alice@example.com"},
    )
    org.add(
        DELIVERABLE,
        Id="a0D000000000000001",
        Name="POC report for Acme",
        vh__Opportunity__c=SF_ID,
        vh__Type__c="POC Report",
        vh__Status__c="Completed",
        vh__Completed_Date__c="2026-03-06",
        Owner=None,
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.counts == {"created": 7, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    # Five activities at two a page: one query and two query_more; one page each for the others.
    assert org.pages_served == 3 + 1 + 1
    assert org.logins == 1
    activities = Activity.objects.order_by("occurred_at")
    assert [a.external_id for a in activities] == [f"a0B{n:015d}" for n in range(1, 6)]
    first = activities[0]
    assert (first.opportunity, first.kind, first.duration_minutes, first.source) == (
        deal,
        "demo",
        90,
        "vivun",
    )
    assert first.created_by == alice  # Owner.Email matched case-insensitively
    link = SyncedItem.objects.get(kind="activity", object_id=first.pk)
    assert link.url == f"{org.login_url}/lightning/r/{ACTIVITY}/{first.external_id}/view"
    gap = ProductGap.objects.get()
    assert (gap.severity, gap.status, gap.created_by) == ("deal_breaker", "planned", alice)
    deliverable = SyncedItem.objects.get(kind="deliverable")
    assert (deliverable.title, deliverable.detail, deliverable.status) == (
        "POC report for Acme",
        "POC Report",
        "done",
    )
    assert deliverable.url == f"{org.login_url}/lightning/r/{DELIVERABLE}/a0D000000000000001/view"
    assert json.loads(connection.cursor) == {
        "activities": "2026-03-05T10:00:00Z",
        "deliverables": "2026-03-04T10:00:00Z",
        "product_gaps": "2026-03-04T10:00:00Z",
    }
    assert org.soql[0] == (
        "SELECT Id, vh__Opportunity__c, vh__Type__c, vh__Date__c, vh__Hours__c, vh__Subject__c, "
        "vh__Notes__c, Owner.Email, SystemModstamp FROM vh__Activity__c "
        "ORDER BY SystemModstamp, Id"
    )


def test_the_next_run_asks_only_for_what_changed_since_the_cursor(
    deal, org, connection, django_capture_on_commit_callbacks
):
    add_activity(org, 1, stamp="2026-03-01T10:00:00.250+0000")
    record = add_activity(org, 2, stamp="2026-03-02T10:00:00.750+0000")
    run_now(connection, django_capture_on_commit_callbacks)
    record["vh__Hours__c"] = 2
    record["SystemModstamp"] = "2026-03-09T08:00:00.000+0000"
    add_activity(org, 3, stamp="2026-03-08T10:00:00.000+0000")

    again = run_now(connection, django_capture_on_commit_callbacks)

    assert " WHERE SystemModstamp >= 2026-03-02T10:00:00Z " in org.soql[-3]
    # The record stamped in the cursor's second is read again, and found unchanged.
    assert again.counts == {"created": 1, "updated": 1, "unchanged": 0, "skipped": 0, "failed": 0}
    assert Activity.objects.get(external_id=record["Id"]).duration_minutes == 120
    assert json.loads(again.cursor_after)["activities"] == "2026-03-09T08:00:00Z"


def test_test_connection_describes_each_object(org, connection, root):
    ok, message = services.connection_test(actor=root, connection=connection)

    assert ok, message
    assert message == (
        f"Found {ACTIVITY}, {GAP}, {DELIVERABLE} with the expected fields on {org.login_url}."
    )


def test_test_connection_names_a_field_the_org_lacks(org, connection, root):
    org.fields[ACTIVITY].discard("vh__Hours__c")

    ok, message = services.connection_test(actor=root, connection=connection)

    connection.refresh_from_db()
    assert not ok
    assert message == f"{ACTIVITY} has no field vh__Hours__c."
    assert connection.status == Connection.Status.NEEDS_ATTENTION


def test_object_and_field_names_come_from_the_settings(
    deal, org, root, django_capture_on_commit_callbacks
):
    org.add_object("acme__SE_Work__c", {"acme__Deal__c", "acme__Kind__c", "acme__When__c"})
    org.add(
        "acme__SE_Work__c",
        Id="a0X000000000000001",
        acme__Deal__c=SF_ID,
        acme__Kind__c="Workshop",
        acme__When__c="2026-03-04T09:30:00.000+0000",
    )
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_salesforce",
        name="Renamed",
        settings={
            "login_url": org.login_url,
            "objects": {"activities": "acme__SE_Work__c", "product_gaps": "", "deliverables": ""},
            "fields": {
                "activities": {
                    "opportunity_ref": "acme__Deal__c",
                    "kind": "acme__Kind__c",
                    "occurred_at": "acme__When__c",
                    "hours": "",
                    "summary": "",
                    "notes": "",
                    "sa_email": "",
                }
            },
        },
        credentials={"client_id": "app-id", "client_secret": "app-secret"},
    )

    assert services.connection_test(actor=root, connection=connection)[0]
    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert org.soql == [
        "SELECT Id, acme__Deal__c, acme__Kind__c, acme__When__c, SystemModstamp "
        "FROM acme__SE_Work__c ORDER BY SystemModstamp, Id"
    ]
    activity = Activity.objects.get()
    assert (activity.kind, activity.occurred_at) == (
        "workshop",
        datetime(2026, 3, 4, 9, 30, tzinfo=UTC),
    )


def test_a_refused_login_needs_attention(org, root):
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_salesforce",
        name="Wrong secret",
        settings={"login_url": org.login_url},
        credentials={"client_id": "app-id", "client_secret": "not-it"},
    )

    ok, message = services.connection_test(actor=root, connection=connection)

    connection.refresh_from_db()
    assert not ok
    assert message.startswith(
        "Salesforce refused the login (400 invalid_client: invalid client credentials)"
    )
    assert connection.status == Connection.Status.NEEDS_ATTENTION


def test_an_expired_session_logs_in_again_once(
    deal, org, connection, django_capture_on_commit_callbacks
):
    add_activity(org, 1)
    org.fail(
        "query",
        401,
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert org.logins == 2
    assert Activity.objects.count() == 1


def test_a_401_half_way_keeps_nothing_leaves_the_cursor_and_needs_attention(
    deal, org, connection, django_capture_on_commit_callbacks
):
    for number in range(1, 4):
        add_activity(org, number)
    Connection.objects.filter(pk=connection.pk).update(
        cursor='{"activities": "2026-01-01T00:00:00Z"}'
    )
    connection.refresh_from_db()
    # The second page is refused even after a new login: the app lost its access.
    refused = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    org.fail("query_more", 401, refused, times=2)

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert run.message.startswith("Salesforce answered 401 to the query of vh__Activity__c")
    assert "the connection needs attention" in run.message
    assert connection.status == Connection.Status.NEEDS_ATTENTION
    assert connection.cursor == run.cursor_after == '{"activities": "2026-01-01T00:00:00Z"}'
    assert Activity.objects.count() == 0  # the first page's rows went with the transaction
    assert not ExternalRef.objects.filter(system="vivun").exists()
    assert not SyncedItem.objects.exists()


@pytest.mark.parametrize(
    "status, body",
    [
        (429, [{"errorCode": "TOO_MANY_REQUESTS", "message": "slow down"}]),
        (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "maintenance"}]),
        (
            403,
            [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
        ),
    ],
)
def test_429_5xx_and_the_request_limit_are_retried_later_with_nothing_kept(
    deal, org, connection, status, body
):
    for number in range(1, 4):
        add_activity(org, number)
    org.fail("query_more", status, body)
    run = SyncRun.objects.create(connection=connection)

    with pytest.raises(TransientSourceError, match=f"Salesforce answered {status}"):
        services.sync_run(run_id=run.pk, last_attempt=False)

    run.refresh_from_db()
    connection.refresh_from_db()
    assert run.status == SyncRun.Status.QUEUED  # the task's retry picks it up
    assert Activity.objects.count() == 0
    assert connection.cursor == ""
    assert connection.status == Connection.Status.OK

    services.sync_run(run_id=run.pk, last_attempt=False)  # the retry
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert Activity.objects.count() == 3


def test_an_unreachable_org_is_a_transient_failure(org, connection):
    org.server.stop()
    run = SyncRun.objects.create(connection=connection)

    with pytest.raises(TransientSourceError, match="Salesforce could not be reached"):
        services.sync_run(run_id=run.pk, last_attempt=False)
    org.server.start()  # the fixture stops it again


def test_bad_records_are_reported_by_record_and_the_rest_committed(
    deal, bob, org, connection, django_capture_on_commit_callbacks
):
    add_activity(org, 1)
    add_activity(org, 2, vh__Type__c="Interpretive dance")
    add_activity(org, 3, vh__Opportunity__c="006NOPE")
    add_activity(org, 4, vh__Date__c=None)
    add_activity(org, 5, Owner={"Email": "someone@else.example"})

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.counts["created"] == 2 and run.counts["failed"] == 3
    reasons = {error["row"]: error["reason"] for error in run.errors}
    assert "unknown activity type 'Interpretive dance'" in reasons[f"{ACTIVITY} a0B000000000000002"]
    assert reasons[f"{ACTIVITY} a0B000000000000003"] == (
        "no deal in EPOS matches Opportunity ID '006NOPE'"
    )
    assert "'' is not a date" in reasons[f"{ACTIVITY} a0B000000000000004"]
    # An unknown SA is reported, and the activity written without one.
    assert reasons[f"{ACTIVITY} a0B000000000000005"] == (
        "no EPOS user has the email 'someone@else.example'; written without an SA"
    )
    assert Activity.objects.get(external_id="a0B000000000000005").created_by is None
    assert json.loads(connection.cursor)["activities"] == "2026-03-04T10:00:00Z"


def test_no_event_for_activities_and_gaps(
    deal, org, connection, django_capture_on_commit_callbacks
):
    add_activity(org, 1)

    run_now(connection, django_capture_on_commit_callbacks)

    assert not OutboxMessage.objects.filter(topic="deliverable.synced").exists()


@pytest.mark.parametrize(
    "given, message",
    [
        ({"login_url": "http://acme.my.salesforce.com"}, "https"),
        ({"objects": {"activities": "vh__Activity__c WHERE Id != null"}}, "API name"),
        ({"fields": {"activities": {"hours": "vh__Hours__c, (SELECT Id FROM x)"}}}, "API name"),
        ({"fields": {"activities": {"external_id": ""}}}, "cannot be left out"),
        ({"fields": {"activities": {"nope": "X"}}}, "unknown fields"),
        ({"objects": {"activities": "", "product_gaps": "", "deliverables": ""}}, "nothing"),
        ({"api_version": "sixty"}, "api_version"),
        ({"extra": 1}, "Unknown settings"),
    ],
)
def test_bad_settings_are_refused(root, given, message):
    with pytest.raises(InvalidInput, match=message):
        services.connection_create(
            actor=root, system="vivun", adapter="vivun_salesforce", name="x", settings=given
        )
    assert not Connection.objects.exists()


def test_the_api_adds_and_tests_a_salesforce_connection_without_returning_secrets(api, root, org):
    client = api.as_user(root)

    created = client.post(
        "/api/v1/connections/",
        {
            "system": "vivun",
            "adapter": "vivun_salesforce",
            "name": "Vivun on Salesforce",
            "settings": {"login_url": org.login_url},
            "credentials": {"client_id": "app-id", "client_secret": "app-secret"},
        },
        format="json",
    )
    tested = client.post(f"/api/v1/connections/{created.json()['id']}/test/")

    assert created.status_code == 201, created.content
    assert created.json()["has_credentials"] is True
    assert "app-secret" not in created.content.decode()
    assert tested.status_code == 200
    assert tested.json()["ok"] is True
    assert tested.json()["message"].startswith(f"Found {ACTIVITY}")
