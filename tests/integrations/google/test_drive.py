"""Drive: a deal entering a mapped stage gets its folder (once) and the stage's documents, found
again by their appProperties so retries never duplicate; the links complete the items."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from epos.lib.errors import InvalidInput
from epos.models import OutboxMessage
from epos.outbox import outbox_quiet
from integrations.models import Connection, DriveFile, SyncRun
from integrations.sync import google_drive, services
from integrations.sync.ports import TransientSourceError
from opportunities import services as deal_services
from opportunities.models import ChecklistCompletion
from stages.models import StageItem
from tests import factories
from tests.integrations.google.conftest import POC_TEMPLATE, SHARED_DRIVE, TEMPLATE

pytestmark = pytest.mark.django_db


def move_to_demo(deal, stages, actor, capture):
    with capture(execute=True):
        deal_services.opportunity_move_to_stage(
            opportunity=deal, to_stage=stages[1], actor=actor, override_reason="testing Drive"
        )


def make_documents(connection, deal, stage, **kwargs):
    return google_drive.drive_documents_create(
        connection_id=connection.pk, opportunity_id=deal.pk, stage_id=stage.pk, **kwargs
    )


def files_of(google, deal, kind):
    return google.live_files(epos_opportunity_id=str(deal.pk), epos_kind=kind)


def creates(google):
    return [path for method, path in google.requests if method == "POST"]


def test_entering_a_mapped_stage_makes_the_folder_and_the_document(
    drive_connection,
    drive,
    opportunity,
    stages,
    root,
    notes_item,
    django_capture_on_commit_callbacks,
):
    move_to_demo(opportunity, stages, root, django_capture_on_commit_callbacks)

    folders, documents = (
        files_of(drive, opportunity, "folder"),
        files_of(drive, opportunity, "document"),
    )
    assert len(folders) == 1 and len(documents) == 1
    assert folders[0]["parents"] == [SHARED_DRIVE]
    assert folders[0]["mimeType"] == "application/vnd.google-apps.folder"
    assert folders[0]["name"] == (
        f"{opportunity.account.name} – {opportunity.name} (EPOS-{opportunity.pk})"
    )
    assert documents[0]["parents"] == [folders[0]["id"]]
    assert documents[0]["name"] == f"Discovery notes – {opportunity.name}"
    assert documents[0]["appProperties"]["epos_item_id"] == str(notes_item.pk)
    rows = {row.kind: row for row in DriveFile.objects.filter(opportunity=opportunity)}
    assert rows["folder"].file_id == folders[0]["id"]
    assert (rows["document"].file_id, rows["document"].url) == (
        documents[0]["id"],
        documents[0]["webViewLink"],
    )
    assert (rows["document"].item, rows["document"].stage) == (notes_item, stages[1])
    # The copy is the item's evidence: the checklist automation ticked it with the link.
    event = OutboxMessage.objects.get(topic="document.created")
    assert event.payload["evidence_url"] == documents[0]["webViewLink"]
    assert event.payload["item_id"] == notes_item.pk
    done = ChecklistCompletion.objects.get(opportunity=opportunity, item=notes_item)
    assert done.done and done.evidence_url == documents[0]["webViewLink"]
    assert done.auto_event_id == event.pk


def test_the_service_account_signs_its_token_request_for_the_drive_scope(
    drive_connection, drive, opportunity, stages
):
    make_documents(drive_connection, opportunity, stages[1])

    claims = drive.token_requests[0]
    assert claims["iss"] == drive.credentials()["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/drive"
    assert "sub" not in claims  # Drive works as the account itself, a member of the drive


def test_running_again_finds_everything_and_creates_nothing(
    drive_connection, drive, opportunity, stages
):
    assert make_documents(drive_connection, opportunity, stages[1]) == 1
    calls = len(drive.requests)

    assert make_documents(drive_connection, opportunity, stages[1]) == 0

    assert len(drive.requests) == calls  # recorded: not even a search
    assert len(drive.files) == 3  # the template, the folder, the copy
    assert OutboxMessage.objects.filter(topic="document.created").count() == 1


def test_a_retry_after_a_crash_finds_the_files_by_their_app_properties(
    drive_connection, drive, opportunity, stages
):
    make_documents(drive_connection, opportunity, stages[1])
    made = {item["id"] for item in drive.files.values()}
    # The worker died after Google made the files but before EPOS recorded them.
    DriveFile.objects.all().delete()
    drive.requests.clear()

    assert make_documents(drive_connection, opportunity, stages[1]) == 1

    assert {item["id"] for item in drive.files.values()} == made
    assert creates(drive) == []
    assert set(DriveFile.objects.values_list("file_id", flat=True)) == made - {TEMPLATE}


def test_a_copy_whose_answer_was_lost_is_found_instead_of_made_twice(
    drive_connection, drive, opportunity, stages
):
    # Google copies the template, then the answer is a 503: the copy exists all the same.
    drive.fail("/copy", 503, method="POST", after_work=True)

    make_documents(drive_connection, opportunity, stages[1])

    assert len(files_of(drive, opportunity, "document")) == 1
    assert len([path for path in creates(drive) if path.endswith("/copy")]) == 1
    assert DriveFile.objects.filter(kind="document").count() == 1


def test_a_search_answered_with_an_empty_first_page_reads_the_next_one(
    drive_connection, drive, opportunity, stages
):
    folder = drive.add_file(
        "Made by an earlier run",
        mime="application/vnd.google-apps.folder",
        parents=[SHARED_DRIVE],
        drive_id=SHARED_DRIVE,
    )
    folder["appProperties"] = {"epos_opportunity_id": str(opportunity.pk), "epos_kind": "folder"}
    drive.empty_first_page = True

    make_documents(drive_connection, opportunity, stages[1])

    assert DriveFile.objects.get(kind="folder").file_id == folder["id"]
    assert len(files_of(drive, opportunity, "folder")) == 1
    assert files_of(drive, opportunity, "document")[0]["parents"] == [folder["id"]]


def test_a_429_is_waited_out_as_long_as_retry_after_says(
    drive_connection, drive, opportunity, stages
):
    drive.fail("/drive/v3/files", 429, method="GET", headers={"Retry-After": "7"})

    assert make_documents(drive_connection, opportunity, stages[1]) == 1

    assert drive.waits == [7.0]


def test_a_rate_limit_403_is_transient_too(drive_connection, drive, opportunity, stages):
    drive.fail("/drive/v3/files", 403, method="GET", reason="userRateLimitExceeded")

    assert make_documents(drive_connection, opportunity, stages[1]) == 1
    assert len(drive.waits) == 1


def test_google_down_raises_for_the_task_to_retry_and_records_nothing(
    drive_connection, drive, opportunity, stages
):
    drive.fail("/drive/v3/files", 500, times=99)

    with pytest.raises(TransientSourceError, match="Google is busy"):
        make_documents(drive_connection, opportunity, stages[1])

    assert len(drive.waits) == 3  # four attempts
    assert not DriveFile.objects.exists()
    drive_connection.refresh_from_db()
    assert drive_connection.status == Connection.Status.OK  # not the admin's problem


def test_a_key_google_does_not_know_marks_the_connection_and_writes_nothing(
    drive_connection, drive, opportunity, stages, rsa_key
):
    from tests.integrations.google.fake import new_key

    drive_connection.credentials_encrypted = services._encrypt_credentials(
        drive.credentials(key=new_key())
    )
    drive_connection.save()

    assert make_documents(drive_connection, opportunity, stages[1]) == 0

    drive_connection.refresh_from_db()
    assert drive_connection.status == Connection.Status.NEEDS_ATTENTION
    assert "invalid_grant: Invalid JWT Signature" in drive_connection.status_message
    assert not DriveFile.objects.exists()
    assert not OutboxMessage.objects.filter(topic="document.created").exists()


def test_a_template_the_account_cannot_open_is_named_in_the_attention_message(
    drive_connection, drive, opportunity, stages
):
    del drive.files[TEMPLATE]

    make_documents(drive_connection, opportunity, stages[1])

    drive_connection.refresh_from_db()
    assert drive_connection.status == Connection.Status.NEEDS_ATTENTION
    assert f"the template for “Discovery notes” ({TEMPLATE})" in drive_connection.status_message
    assert "404" in drive_connection.status_message
    # The folder was made before the copy failed; it is found, not remade, next time.
    assert not DriveFile.objects.exists()
    assert len(files_of(drive, opportunity, "folder")) == 1


def test_a_persistent_401_needs_attention(drive_connection, drive, opportunity, stages):
    drive.reject_tokens = True

    make_documents(drive_connection, opportunity, stages[1])

    drive_connection.refresh_from_db()
    assert drive_connection.status == Connection.Status.NEEDS_ATTENTION
    assert "401" in drive_connection.status_message


def test_one_expired_token_is_refreshed_and_the_work_goes_on(
    drive_connection, drive, opportunity, stages
):
    drive.fail("/drive/v3/files", 401, method="GET")

    assert make_documents(drive_connection, opportunity, stages[1]) == 1
    assert len(drive.token_requests) == 2


def test_two_documents_of_one_stage_each_complete_their_own_item(
    drive_connection, drive, opportunity, stages, notes_item, root
):
    plan = factories.StageItemFactory(
        stage=stages[1],
        position=10,
        kind=StageItem.Kind.DELIVERABLE,
        title="POC plan",
        evidence_event="document.created",
    )
    plan.evidence_condition = {"item_id": plan.pk}
    plan.save()
    drive.add_file("Template: POC plan", file_id=POC_TEMPLATE, drive_id=SHARED_DRIVE)
    settings = dict(drive_connection.settings)
    settings["templates"] = [
        *settings["templates"],
        {"stage": "demo", "item": "POC plan", "template_id": POC_TEMPLATE},
    ]
    services.connection_update(actor=root, connection=drive_connection, settings=settings)
    deal_services.opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=root, override_reason="testing"
    )

    make_documents(drive_connection, opportunity, stages[1])
    from epos.services import outbox_dispatch

    for message in OutboxMessage.objects.filter(topic="document.created"):
        outbox_dispatch(message_id=message.pk)

    links = {row.item_id: row.url for row in DriveFile.objects.filter(kind="document")}
    completions = {
        row.item_id: row.evidence_url
        for row in ChecklistCompletion.objects.filter(opportunity=opportunity, done=True)
    }
    assert completions == links
    assert set(links) == {notes_item.pk, plan.pk}
    assert len(set(links.values())) == 2


def test_a_stage_with_no_template_costs_no_call(drive_connection, drive, opportunity, stages):
    assert make_documents(drive_connection, opportunity, stages[2]) == 0
    assert drive.requests == [] and drive.token_requests == []


def test_another_task_of_the_same_deal_holds_it(drive_connection, drive, opportunity, stages):
    with google_drive.deal_lease(opportunity.pk, wait=0):
        with pytest.raises(google_drive.DealBusy):
            make_documents(drive_connection, opportunity, stages[1], wait=0)
    assert cache.get(f"integrations:drive-deal:{opportunity.pk}") is None
    assert make_documents(drive_connection, opportunity, stages[1]) == 1


def test_replayed_history_makes_no_documents(
    drive_connection, drive, opportunity, stages, root, django_capture_on_commit_callbacks
):
    with outbox_quiet():
        move_to_demo(opportunity, stages, root, django_capture_on_commit_callbacks)

    assert drive.requests == [] and not DriveFile.objects.exists()


def test_a_disabled_connection_makes_no_documents(
    drive_connection, drive, opportunity, stages, root, django_capture_on_commit_callbacks
):
    services.connection_update(actor=root, connection=drive_connection, enabled=False)

    move_to_demo(opportunity, stages, root, django_capture_on_commit_callbacks)

    assert drive.requests == [] and not DriveFile.objects.exists()


def test_sync_now_catches_up_the_deals_that_entered_recently(
    drive_connection, drive, stages, alice, team, root, django_capture_on_commit_callbacks
):
    recent = factories.OpportunityFactory(stage=stages[1], owner=alice, team=team)
    factories.OpportunityFactory(
        stage=stages[1],
        owner=alice,
        team=team,
        stage_entered_at=timezone.now() - google_drive.CATCH_UP * 2,
    )

    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(actor=root, connection=drive_connection)
    run.refresh_from_db()

    assert run.status == SyncRun.Status.SUCCEEDED, run.message
    assert run.counts["created"] == 2  # the recent deal's folder and document
    assert set(DriveFile.objects.values_list("opportunity_id", flat=True)) == {recent.pk}

    with django_capture_on_commit_callbacks(execute=True):
        again, _ = services.sync_request(actor=root, connection=drive_connection)
    again.refresh_from_db()
    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.counts["created"] == 0
    assert len(drive.files) == 3


def test_the_test_says_in_plain_words_what_it_reached(drive_connection, drive, root, stages):
    factories.StageItemFactory(stage=stages[1], title="Architecture sketch")
    ok, message = services.connection_test(actor=root, connection=drive_connection)

    assert ok, message
    assert "reaches the shared drive “Pre-sales deals”" in message
    assert "“Template: discovery notes” for Discovery notes" in message


def test_the_test_names_items_whose_rule_will_not_tick_them(
    drive_connection, drive, root, notes_item
):
    notes_item.evidence_event = ""
    notes_item.save()

    ok, message = services.connection_test(actor=root, connection=drive_connection)

    assert ok
    assert "“Discovery notes” has no evidence rule “document.created”" in message


def test_a_failed_test_marks_the_connection(drive_connection, drive, root):
    del drive.drives[SHARED_DRIVE]

    ok, message = services.connection_test(actor=root, connection=drive_connection)

    assert not ok
    assert f"cannot open the shared drive {SHARED_DRIVE}: 404" in message
    drive_connection.refresh_from_db()
    assert drive_connection.status == Connection.Status.NEEDS_ATTENTION


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ({"stage": "demo", "item": "No such item", "template_id": TEMPLATE}, "no stage “demo”"),
        ({"stage": "demo", "item": "Discovery notes", "template_id": "x"}, "file id or link"),
        ({"stage": "Demo stage!", "item": "Discovery notes", "template_id": TEMPLATE}, "slug"),
        ({"stage": "demo", "item": "Discovery notes"}, "file id or link"),
    ],
)
def test_template_rows_are_checked(notes_item, row, error):
    with pytest.raises(InvalidInput, match=error):
        google_drive.clean_settings({"shared_drive_id": SHARED_DRIVE, "templates": [row]})


def test_links_copied_from_the_browser_give_their_ids(notes_item):
    cleaned = google_drive.clean_settings(
        {
            "shared_drive_id": f"https://drive.google.com/drive/folders/{SHARED_DRIVE}",
            "templates": [
                {
                    "stage": "demo",
                    "item": "discovery NOTES",
                    "template_id": f"https://docs.google.com/document/d/{TEMPLATE}/edit",
                }
            ],
        }
    )

    assert cleaned["shared_drive_id"] == SHARED_DRIVE
    assert cleaned["templates"][0]["template_id"] == TEMPLATE
