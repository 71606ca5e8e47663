"""Vivun deliverables become evidence, synced rows carry their SA and link back to Vivun on the
deal page (CSV exports here; the other adapters share the writer)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.urls import reverse

from epos.models import ExternalRef, OutboxMessage
from integrations.models import SyncedItem, SyncRun
from integrations.sync import services
from integrations.sync.ports import SourceError
from integrations.sync.vivun_csv import VivunCsvSource
from opportunities.models import Activity, ChecklistCompletion, ProductGap
from tests.factories import StageItemFactory, UserFactory

pytestmark = pytest.mark.django_db

SF_ID = "0065g00000AbCdEAAV"
DELIVERABLES_HEADER = (
    "Deliverable ID,Opportunity ID,Deliverable Type,Deliverable Name,Status,Completed Date,"
    "Owner Email\r\n"
)
POC_DONE = f"d-1,{SF_ID},POC Report,POC report for Acme,Completed,2026-03-06,alice@example.com\r\n"
RECORD_URL = "https://acme.vivun.app/records/{id}"


@pytest.fixture
def deal(opportunity):
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=opportunity
    )
    return opportunity


@pytest.fixture
def items(deal):
    """Two deliverable items of the deal's stage, each completed by its kind of deliverable."""
    return {
        "poc": StageItemFactory(
            stage=deal.stage,
            kind="deliverable",
            title="POC report shared",
            evidence_event="deliverable.synced",
            evidence_condition={"type": "POC Report"},
        ),
        "architecture": StageItemFactory(
            stage=deal.stage,
            kind="deliverable",
            title="Reference architecture",
            evidence_event="deliverable.synced",
            evidence_condition={"type": "Reference Architecture"},
        ),
    }


def write(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    return {
        "deliverables": write(
            tmp_path / "deliverables.csv",
            DELIVERABLES_HEADER
            + POC_DONE
            + f"d-2,{SF_ID},Reference Architecture,Acme architecture,In Progress,,\r\n",
        )
    }


@pytest.fixture
def connection(root, files):
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Vivun",
        settings={
            "files": files,
            "record_urls": dict.fromkeys(
                ("activities", "product_gaps", "deliverables"), RECORD_URL
            ),
        },
    )


def run_now(connection, capture):
    with capture(execute=True):
        run, created = services.sync_request(actor=None, connection=connection)
    assert created
    run.refresh_from_db()
    return run


def completion_of(deal, item):
    return ChecklistCompletion.objects.filter(opportunity=deal, item=item, done=True).first()


def test_a_finished_deliverable_completes_the_item_that_asks_for_it(
    deal, items, alice, connection, django_capture_on_commit_callbacks
):
    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.counts["created"] == 2
    message = OutboxMessage.objects.get(topic="deliverable.synced")
    assert message.payload == {
        "opportunity_id": deal.pk,
        "stage_id": deal.stage_id,
        "type": "POC Report",
        "name": "POC report for Acme",
        "status": "done",
        "evidence_url": "https://acme.vivun.app/records/d-1",
        "external_id": "d-1",
        "source": "vivun",
    }
    completion = completion_of(deal, items["poc"])
    assert completion is not None
    assert completion.evidence_url == "https://acme.vivun.app/records/d-1"
    assert completion.auto_event_id == message.pk
    # The architecture is still in progress: synced and shown, but no evidence yet.
    assert completion_of(deal, items["architecture"]) is None
    done = SyncedItem.objects.get(external_id="d-1")
    assert done.occurred_at == datetime(2026, 3, 6, tzinfo=UTC)
    assert done.updated_at is not None and done.connection == connection
    draft = SyncedItem.objects.get(external_id="d-2")
    assert (draft.status, draft.person) == ("open", None)
    assert SyncedItem.objects.get(external_id="d-1").person == alice


def test_a_second_run_announces_nothing_new_until_a_deliverable_is_finished(
    deal, items, connection, files, django_capture_on_commit_callbacks
):
    run_now(connection, django_capture_on_commit_callbacks)

    again = run_now(connection, django_capture_on_commit_callbacks)

    assert again.counts == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0, "failed": 0}
    assert OutboxMessage.objects.filter(topic="deliverable.synced").count() == 1

    write(
        Path(files["deliverables"]),
        DELIVERABLES_HEADER
        + POC_DONE
        + f"d-2,{SF_ID},Reference Architecture,Acme architecture,Completed,2026-03-09,\r\n",
    )
    third = run_now(connection, django_capture_on_commit_callbacks)

    assert third.counts["updated"] == 1 and third.counts["unchanged"] == 1
    assert OutboxMessage.objects.filter(topic="deliverable.synced").count() == 2
    assert completion_of(deal, items["architecture"]).evidence_url == (
        "https://acme.vivun.app/records/d-2"
    )


def test_a_failed_run_announces_nothing(
    deal, items, connection, monkeypatch, django_capture_on_commit_callbacks
):
    def read(self, cursor):
        yield from VivunCsvSource._read_file(self, "deliverables", self.files["deliverables"])
        raise SourceError("The export vanished half-way.")

    monkeypatch.setattr(VivunCsvSource, "read", read)

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.FAILED
    assert not OutboxMessage.objects.filter(topic="deliverable.synced").exists()
    assert not SyncedItem.objects.exists()
    assert completion_of(deal, items["poc"]) is None


def test_bad_deliverable_rows_are_reported(
    deal, connection, files, django_capture_on_commit_callbacks
):
    write(
        Path(files["deliverables"]),
        DELIVERABLES_HEADER
        + f"d-1,{SF_ID},,No type,Completed,2026-03-06,\r\n"
        + f"d-2,{SF_ID},POC Report,Odd status,Shelved,,\r\n"
        + f"d-3,{SF_ID},POC Report,Fine,,2026-03-06,\r\n",
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    reasons = {error["row"]: error["reason"] for error in run.errors}
    assert reasons == {
        2: "no deliverable type",
        3: "unknown deliverable status 'Shelved' (map it in settings.deliverable_statuses)",
    }
    # No status column value: the completion date says it is done.
    assert SyncedItem.objects.get().status == "done"


# --- the SA, matched by email ---------------------------------------------------------------------


def test_the_sa_is_the_user_with_the_row_s_email_whatever_its_case(
    deal, alice, root, tmp_path, django_capture_on_commit_callbacks
):
    UserFactory(username="twin1", email="shared@example.com")
    UserFactory(username="twin2", email="Shared@Example.com")
    path = write(
        tmp_path / "activities.csv",
        "Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours,Assigned SE Email\r\n"
        f"a-1,{SF_ID},Demo,2026-03-04,1,ALICE@EXAMPLE.COM\r\n"
        f"a-2,{SF_ID},Demo,2026-03-04,1,nobody@example.org\r\n"
        f"a-3,{SF_ID},Demo,2026-03-04,1,shared@example.com\r\n"
        f"a-4,{SF_ID},Demo,2026-03-04,1,\r\n",
    )
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Activities",
        settings={"files": {"activities": path}},
    )

    run = run_now(connection, django_capture_on_commit_callbacks)

    assert run.status == SyncRun.Status.SUCCEEDED  # every row written
    assert run.counts["created"] == 4
    people = dict(Activity.objects.values_list("external_id", "created_by__username"))
    assert people == {"a-1": "alice", "a-2": None, "a-3": None, "a-4": None}
    assert run.errors == [
        {
            "row": 3,
            "reason": "no EPOS user has the email 'nobody@example.org'; written without an SA",
        },
        {
            "row": 4,
            "reason": "the email 'shared@example.com' belongs to several EPOS users; "
            "written without an SA",
        },
    ]


# --- the deal page ------------------------------------------------------------------------------


def test_the_deal_page_shows_synced_items_with_a_link_back_to_vivun(
    deal, alice, root, tmp_path, files, client, django_capture_on_commit_callbacks
):
    activities = write(
        tmp_path / "activities.csv",
        "Activity ID,Opportunity ID,Activity Type,Activity Date,SE Hours,Subject\r\n"
        f"a-1,{SF_ID},Demo,2026-03-04,1,Platform demo\r\n",
    )
    gaps = write(
        tmp_path / "gaps.csv",
        "Product Gap ID,Opportunity ID,Product Gap Name,Impact,Status\r\n"
        f"g-1,{SF_ID},SAML group sync,Deal Breaker,Open\r\n",
    )
    connection = services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Everything",
        settings={
            "files": {**files, "activities": activities, "product_gaps": gaps},
            "record_urls": dict.fromkeys(
                ("activities", "product_gaps", "deliverables"), RECORD_URL
            ),
        },
    )
    run_now(connection, django_capture_on_commit_callbacks)
    Activity.objects.create(opportunity=deal, kind="call", occurred_at=deal.created_at)
    client.force_login(alice)

    page = client.get(reverse("opportunities:opportunity-detail", args=[deal.pk])).content.decode()

    synced = Activity.objects.get(external_id="a-1")
    manual = Activity.objects.get(source="manual")
    entry = _entry(page, f"tl-activity-{synced.pk}")
    assert "Vivun" in entry
    assert 'href="https://acme.vivun.app/records/a-1"' in entry and "open in Vivun" in entry
    assert "open in Vivun" not in _entry(page, f"tl-activity-{manual.pk}")
    gap = _entry(page, f"tl-gap-{ProductGap.objects.get().pk}")
    assert "Vivun" in gap and 'href="https://acme.vivun.app/records/g-1"' in gap
    deliverable = _entry(page, f"tl-deliverable-{SyncedItem.objects.get(external_id='d-1').pk}")
    assert "Deliverable: POC report for Acme" in deliverable
    assert "Alice Archer via Vivun" in deliverable
    assert 'href="https://acme.vivun.app/records/d-1"' in deliverable
    assert 'value="deliverable"' in page  # a filter of its own


def _entry(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</li>", start)]
