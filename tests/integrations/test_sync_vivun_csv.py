"""The Vivun CSV adapter: streamed exports (BOM, CRLF), upserts by ExternalRef, bad rows."""

from datetime import UTC, datetime

import pytest

from epos.models import ExternalRef
from integrations.models import Connection, SyncRun
from integrations.sync import services
from integrations.sync.vivun_csv import VivunCsvSource
from opportunities.models import Activity, ProductGap

pytestmark = pytest.mark.django_db

SF_ID = "0065g00000AbCdEAAV"

ACTIVITIES = (
    "Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours,Subject,Notes\r\n"
    f'a-1,{SF_ID},Demo,2026-03-04,1.5,Platform demo,"Went well,\r\nnext: POC"\r\n'
    f"a-2,{SF_ID},Phone Call,03/05/2026,0.25,Follow-up,\r\n"
)
GAPS = (
    "Product Gap ID,Opportunity ID,Product Gap Name,Description,Impact,Status\r\n"
    f"g-1,{SF_ID},SAML group sync,Needs SCIM,Deal Breaker,In Progress\r\n"
)


@pytest.fixture
def deal(opportunity):
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    return opportunity


def write(path, text: str, *, bom: bool = True):
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return str(path)


@pytest.fixture
def files(tmp_path):
    return {
        "activities": write(tmp_path / "activities.csv", ACTIVITIES),
        "product_gaps": write(tmp_path / "gaps.csv", GAPS),
    }


@pytest.fixture
def connection(root, files):
    return services.connection_create(
        actor=root, system="vivun", adapter="vivun_csv", name="Vivun", settings={"files": files}
    )


def run_now(connection, capture):
    with capture(execute=True):
        run, created = services.sync_request(actor=None, connection=connection)
    assert created
    run.refresh_from_db()
    connection.refresh_from_db()
    return run


def test_activities_and_gaps_are_imported_from_a_bom_crlf_export(
    deal, connection, django_capture_on_commit_callbacks
):
    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.counts == {"created": 3, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    demo = Activity.objects.get(external_id="a-1")
    assert (demo.opportunity, demo.kind, demo.source, demo.duration_minutes) == (
        deal,
        "demo",
        "vivun",
        90,
    )
    assert demo.summary == "Platform demo\n\nWent well,\r\nnext: POC"
    assert demo.occurred_at == datetime(2026, 3, 4, tzinfo=UTC)
    assert Activity.objects.get(external_id="a-2").kind == "call"
    gap = ProductGap.objects.get()
    assert (gap.title, gap.severity, gap.status) == ("SAML group sync", "deal_breaker", "planned")
    assert ExternalRef.objects.filter(system="vivun").count() == 3
    assert connection.cursor == run.cursor_after != ""


def test_a_second_run_of_the_same_export_creates_nothing(
    deal, connection, django_capture_on_commit_callbacks
):
    run_now(connection, django_capture_on_commit_callbacks)

    again = run_now(connection, django_capture_on_commit_callbacks)

    assert again.counts == {"created": 0, "updated": 0, "unchanged": 3, "skipped": 0, "failed": 0}
    assert Activity.objects.count() == 2
    assert ProductGap.objects.count() == 1


def test_a_changed_row_updates_its_record(
    deal, connection, files, tmp_path, django_capture_on_commit_callbacks
):
    run_now(connection, django_capture_on_commit_callbacks)
    write(tmp_path / "activities.csv", ACTIVITIES.replace(",1.5,", ",2,"))

    again = run_now(connection, django_capture_on_commit_callbacks)

    assert again.counts["updated"] == 1
    assert again.counts["unchanged"] == 2
    assert Activity.objects.get(external_id="a-1").duration_minutes == 120


def test_broken_rows_are_reported_with_their_line_and_the_rest_committed(
    deal, connection, tmp_path, django_capture_on_commit_callbacks
):
    write(
        tmp_path / "activities.csv",
        "Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours\r\n"
        f"a-1,{SF_ID},Demo,2026-03-04,1\r\n"
        f"a-2,{SF_ID},Demo,yesterday,1\r\n"
        f"a-3,{SF_ID},Interpretive dance,2026-03-04,1\r\n"
        f"a-4,{SF_ID},Demo,2026-03-04,-2\r\n"
        f"a-5,{SF_ID},Demo\r\n"
        "a-6,006UNKNOWN,Demo,2026-03-04,1\r\n"
        f",{SF_ID},Demo,2026-03-04,1\r\n"
        f"a-1,{SF_ID},Demo,2026-03-05,1\r\n",
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.counts["created"] == 2  # a-1 and the gap
    assert run.counts["failed"] == 7
    reasons = {error["row"]: error["reason"] for error in run.errors}
    assert "'yesterday' is not a date" in reasons[3]
    assert "unknown activity type 'Interpretive dance'" in reasons[4]
    assert "out of range" in reasons[5]
    assert reasons[6] == "3 cells where the header has 5"
    assert reasons[7] == "no deal in EPOS matches Opportunity ID '006UNKNOWN'"
    assert reasons[8] == "no Activity ID"
    assert reasons[9] == "same ID as line 2; the first one is kept"
    assert list(Activity.objects.values_list("external_id", flat=True)) == ["a-1"]
    assert connection.cursor == run.cursor_after  # the good rows are in, so the cursor moves


def test_rows_can_name_the_epos_deal_and_columns_can_be_renamed(
    opportunity, root, tmp_path, django_capture_on_commit_callbacks
):
    path = write(
        tmp_path / "a.csv",
        "Activity ID,EPOS Opportunity ID,Type,Activity Date,Hours Logged\n"
        f"x-1,{opportunity.pk},Executive Briefing,2026-03-04T10:00:00Z,1\n",
        bom=False,
    )
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Renamed",
        settings={
            "files": {"activities": path},
            "columns": {"activities": {"kind": "Type", "hours": "Hours Logged"}},
            "activity_types": {"Executive Briefing": "meeting"},
        },
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    activity = Activity.objects.get(external_id="x-1")
    assert (activity.opportunity, activity.kind, activity.duration_minutes) == (
        opportunity,
        "meeting",
        60,
    )


def test_a_missing_file_fails_the_run_keeps_nothing_and_asks_for_attention(
    deal, connection, files, tmp_path, django_capture_on_commit_callbacks
):
    (tmp_path / "gaps.csv").unlink()  # activities are read first, then this fails

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert "Cannot open" in run.message and "gaps.csv" in run.message
    assert Activity.objects.count() == 0
    assert ExternalRef.objects.filter(system="vivun").count() == 0
    assert connection.cursor == ""
    assert connection.status == Connection.Status.NEEDS_ATTENTION


def test_a_missing_column_is_reported_by_the_connection_test(root, tmp_path):
    path = write(tmp_path / "a.csv", "Activity ID,Activity Type\r\n")
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="No dates",
        settings={"files": {"activities": path}},
    )

    ok, message = services.connection_test(actor=root, connection=connection)

    assert not ok
    assert "a.csv has no column Activity Date, Opportunity ID." in message
    assert connection.status == Connection.Status.NEEDS_ATTENTION


def test_the_connection_test_names_what_it_found(connection, root):
    ok, message = services.connection_test(actor=root, connection=connection)

    assert ok, message
    assert message == (
        "Found activities (activities.csv) and product gaps (gaps.csv) with the expected columns."
    )


def test_the_export_is_streamed_not_read_whole(files):
    """The reader pulls lines as it goes: after the first row only a few lines were read."""
    source = VivunCsvSource({"files": {"activities": files["activities"]}}, {})
    items = source.read("")

    first = next(items)

    assert first.external_id == "a-1"
    assert source.digests == {}  # the file is not finished, so its digest is not taken yet


@pytest.mark.parametrize(
    "given, message",
    [
        ({}, "settings.files must name"),
        ({"files": {"activities": "relative.csv"}}, "absolute path"),
        ({"files": {"activities": "/x.csv"}, "columns": {"activities": {"nope": "X"}}}, "nope"),
        ({"files": {"activities": "/x.csv"}, "activity_types": {"X": "party"}}, "activity_types"),
        ({"files": {"activities": "/x.csv"}, "extra": 1}, "Unknown settings"),
    ],
)
def test_bad_settings_are_refused(root, given, message):
    from epos.lib.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        services.connection_create(
            actor=root, system="vivun", adapter="vivun_csv", name="x", settings=given
        )
    assert not Connection.objects.exists()


def test_a_record_deleted_in_epos_comes_back_with_the_next_run(
    deal, connection, django_capture_on_commit_callbacks
):
    run_now(connection, django_capture_on_commit_callbacks)
    Activity.objects.filter(external_id="a-1").delete()

    again = run_now(connection, django_capture_on_commit_callbacks)

    assert again.counts["created"] == 1 and again.counts["unchanged"] == 2
    revived = Activity.objects.get(external_id="a-1")
    ref = ExternalRef.objects.get(system="vivun", kind="activity", external_id="a-1")
    assert ref.object_id == revived.pk
    assert ExternalRef.objects.filter(system="vivun").count() == 3


def test_an_activity_recorded_as_vivun_s_before_the_sync_is_adopted_not_duplicated(
    deal, alice, connection, django_capture_on_commit_callbacks
):
    recorded = Activity.objects.create(
        opportunity=deal,
        kind="demo",
        occurred_at=datetime(2026, 3, 4, tzinfo=UTC),
        duration_minutes=90,
        summary="Platform demo\n\nWent well,\r\nnext: POC",
        source="vivun",
        external_id="a-1",
        created_by=alice,
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.counts == {"created": 2, "updated": 0, "unchanged": 1, "skipped": 0, "failed": 0}
    assert Activity.objects.filter(external_id="a-1").get() == recorded
    assert Activity.objects.get(pk=recorded.pk).created_by == alice  # the export names no SA
    ref = ExternalRef.objects.get(system="vivun", kind="activity", external_id="a-1")
    assert ref.object_id == recorded.pk


def test_the_reported_rows_are_capped_and_the_rest_counted(
    deal, connection, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    from integrations.sync import writers

    monkeypatch.setattr(writers, "MAX_REPORTED_ERRORS", 2)
    write(
        tmp_path / "activities.csv",
        "Activity ID,Opportunity ID,Activity Type,Activity Date\r\n"
        + "".join(f"a-{n},006NOPE,Demo,2026-03-04\r\n" for n in range(5)),
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.counts["failed"] == 5
    assert [error["row"] for error in run.errors] == [2, 3, "…"]
    assert run.errors[-1]["reason"] == "and 3 more rows"
