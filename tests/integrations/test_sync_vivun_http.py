"""The Vivun HTTP export adapter: `requests` against a fake export endpoint on loopback, with
pages, 429 + Retry-After, 401 and 5xx; offered only with EPOS_VIVUN_HTTP_EXPORT on."""

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from epos.lib.errors import InvalidInput
from epos.models import ExternalRef
from integrations.models import Connection, SyncedItem, SyncRun
from integrations.sync import services
from integrations.sync.client import retry_after_seconds
from integrations.sync.ports import TransientSourceError
from opportunities.models import Activity, ProductGap

pytestmark = pytest.mark.django_db

SF_ID = "0065g00000AbCdEAAV"


@pytest.fixture
def deal(opportunity):
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    return opportunity


def activity(number: int, modified="2026-03-04T10:00:00Z", **values) -> dict:
    return {
        "Activity ID": f"act-{number}",
        "Opportunity ID": SF_ID,
        "Activity Type": "Demo",
        "Activity Date": "2026-03-04",
        "SE Hours": 1,
        "Subject": f"Demo {number}",
        "Assigned SE Email": "alice@example.com",
        "Vivun URL": f"https://acme.vivun.app/activities/act-{number}",
        "Last Modified Date": modified,
    } | values


@pytest.fixture
def connection(root, vivun_export):
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_http",
        name="Vivun export",
        settings={"base_url": vivun_export.base_url, "page_size": 2},
        credentials={"token": "vivun-token"},
    )


def run_now(connection, capture):
    with capture(execute=True):
        run, created = services.sync_request(actor=None, connection=connection)
    assert created
    run.refresh_from_db()
    connection.refresh_from_db()
    return run


def export_requests(fake, export="activities"):
    return [args for path, args in fake.requests if path.endswith(f"/{export}")]


@pytest.mark.parametrize("link_header", [False, True], ids=["next-in-body", "link-header"])
def test_every_page_is_read_and_the_next_run_asks_for_what_changed(
    deal, alice, vivun_export, connection, link_header, django_capture_on_commit_callbacks
):
    vivun_export.link_header = link_header
    vivun_export.records["activities"] = [
        activity(n, modified=f"2026-03-0{n}T10:00:00Z") for n in range(1, 6)
    ]
    vivun_export.records["product-gaps"] = [
        {
            "Product Gap ID": "gap-1",
            "Opportunity ID": SF_ID,
            "Product Gap Name": "SAML group sync",
            "Impact": "Deal Challenge",
            "Status": "Open",
        }
    ]

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.counts["created"] == 6
    assert len(export_requests(vivun_export)) == 3  # five activities, two a page
    assert Activity.objects.filter(created_by=alice).count() == 5
    assert SyncedItem.objects.get(
        kind="activity", object_id=Activity.objects.get(external_id="act-3").pk
    ).url == ("https://acme.vivun.app/activities/act-3")
    assert ProductGap.objects.get().severity == "deal_challenge"
    cursor = json.loads(connection.cursor)
    assert cursor == {"activities": "2026-03-05T10:00:00.000000+00:00"}

    vivun_export.records["activities"][0] = activity(
        1, modified="2026-03-06T00:00:00Z", **{"SE Hours": 3}
    )
    again = run_now(connection, django_capture_on_commit_callbacks)

    asked = export_requests(vivun_export)[-1]
    assert asked["modified_since"] == "2026-03-05T10:00:00.000000+00:00"
    assert again.counts == {"created": 0, "updated": 1, "unchanged": 2, "skipped": 0, "failed": 0}
    assert Activity.objects.get(external_id="act-1").duration_minutes == 180


def test_a_429_is_waited_out_for_its_retry_after(
    deal, vivun_export, connection, django_capture_on_commit_callbacks
):
    vivun_export.records["activities"] = [activity(n) for n in range(1, 4)]
    vivun_export.fail(429, {"error": "rate_limited"}, {"Retry-After": "1"})

    started = time.monotonic()
    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert time.monotonic() - started >= 1.0
    assert Activity.objects.count() == 3


def test_a_long_retry_after_ends_the_attempt_for_a_later_retry(deal, vivun_export, connection):
    vivun_export.records["activities"] = [activity(n) for n in range(1, 4)]
    vivun_export.fail(429, {"error": "rate_limited"}, {"Retry-After": "3600"})
    run = SyncRun.objects.create(connection=connection)

    started = time.monotonic()
    with pytest.raises(TransientSourceError, match="Retry-After 3600 s"):
        services.sync_run(run_id=run.pk, last_attempt=False)

    assert time.monotonic() - started < 5  # not waited out in place
    run.refresh_from_db()
    assert run.status == SyncRun.Status.QUEUED
    assert Activity.objects.count() == 0


def test_429s_beyond_the_waits_allowed_end_the_attempt(
    deal, settings, vivun_export, connection, django_capture_on_commit_callbacks
):
    settings.EPOS_SYNC_MAX_WAITS = 2
    vivun_export.records["activities"] = [activity(1)]
    vivun_export.fail(429, {"error": "rate_limited"}, {"Retry-After": "0"}, times=3)

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED  # in-process, the first attempt is the last
    assert "429 Too Many Requests" in run.message
    assert len(export_requests(vivun_export)) == 3
    assert connection.status == Connection.Status.OK


def test_a_5xx_on_a_later_page_keeps_nothing_and_leaves_the_cursor(deal, vivun_export, connection):
    vivun_export.records["activities"] = [activity(n) for n in range(1, 6)]
    vivun_export.fail(502, {"error": "upstream"}, page=2)
    run = SyncRun.objects.create(connection=connection)

    with pytest.raises(TransientSourceError, match="Vivun answered 502"):
        services.sync_run(run_id=run.pk, last_attempt=False)

    connection.refresh_from_db()
    assert Activity.objects.count() == 0
    assert connection.cursor == ""


def test_a_401_needs_attention(
    deal, vivun_export, root, connection, django_capture_on_commit_callbacks
):
    vivun_export.token = "rotated"

    ok, message = services.connection_test(actor=root, connection=connection)
    run = run_now(connection, django_capture_on_commit_callbacks)

    assert not ok and "the API token is not accepted" in message
    assert run.status == SyncRun.Status.FAILED
    assert connection.status == Connection.Status.NEEDS_ATTENTION


def test_test_connection_says_what_answered(vivun_export, root, connection):
    ok, message = services.connection_test(actor=root, connection=connection)

    assert ok, message
    assert message == (
        f"Vivun answered for activities, product gaps, deliverables at {vivun_export.base_url}."
    )


def test_the_adapter_is_offered_only_behind_its_setting(settings, root, client):
    settings.EPOS_VIVUN_HTTP_EXPORT = False
    client.force_login(root)

    with pytest.raises(InvalidInput, match="turned off"):
        services.connection_create(
            actor=root,
            system="vivun",
            adapter="vivun_http",
            name="x",
            settings={"base_url": "https://acme.vivun.app/api"},
        )
    page = client.get("/integrations/").content.decode()
    assert 'id="add-vivun_salesforce"' in page
    assert 'id="add-vivun_http"' not in page

    settings.EPOS_VIVUN_HTTP_EXPORT = True
    assert 'id="add-vivun_http"' in client.get("/integrations/").content.decode()


def test_a_connection_whose_adapter_was_turned_off_fails_plainly(
    settings, vivun_export, connection, django_capture_on_commit_callbacks
):
    settings.EPOS_VIVUN_HTTP_EXPORT = False

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert "turned off on this server (EPOS_VIVUN_HTTP_EXPORT)" in run.message


def test_retry_after_is_read_as_seconds_or_as_a_date():
    now = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)

    assert retry_after_seconds("7", now) == 7
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
