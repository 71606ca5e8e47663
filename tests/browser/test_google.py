"""Google Workspace in Chromium: an admin adds the Drive and Calendar connections with the
service-account key file, tests them and syncs; the deal page then shows the copied document
and the synced meeting, and its "Google Docs" tool opens the deal's folder."""

import json

import pytest

from integrations.models import Connection, DriveFile
from integrations.sync import google_drive
from opportunities.models import Activity
from tests import factories
from tests.browser.conftest import login, screenshot
from tests.integrations.google.conftest import (  # noqa: F401 - the fake Google's fixtures
    SHARED_DRIVE,
    TEMPLATE,
    calendar,
    drive,
    google,
    notes_item,
    rsa_key,
    waits,
)
from tests.integrations.google.fake import meeting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def fake(request):
    """The fake Google with the shared drive, alice's calendar and the mapped item."""
    for name in ("drive", "calendar", "notes_item"):
        request.getfixturevalue(name)
    return request.getfixturevalue("google")


@pytest.fixture
def key_path(tmp_path, fake):
    path = tmp_path / "epos-sync-key.json"
    path.write_text(json.dumps(fake.credentials()))
    return path


def add_connection(page, adapter: str, fields: dict, key_path) -> None:
    section = page.locator(f"#add-{adapter}")
    section.locator("summary").click()
    section.locator("input[name=key_file]").set_input_files(str(key_path))
    for name, value in fields.items():
        section.locator(f"[name={name}]").fill(value)
    section.get_by_role("button", name="Add connection").click()
    page.wait_for_selector(".flash-success")


def test_an_admin_connects_google_and_the_deal_page_shows_its_work(
    page, root, alice, fake, key_path, stages, team
):
    account = factories.AccountFactory(name="Acme", domain="acme.io")
    deal = factories.OpportunityFactory(
        name="Acme observability", account=account, stage=stages[1], owner=alice, team=team
    )
    docs = factories.ToolFactory(
        slug="google-docs", name="Google Docs", url="https://docs.google.com/"
    )
    stages[1].tools.add(docs)
    fake.add_event(
        alice.email,
        **meeting(
            deal.created_at.replace(hour=9, minute=0, second=0, microsecond=0),
            45,
            title="Acme architecture workshop",
            attendees=[alice.email, "cto@acme.io"],
        ),
    )
    login(page, "root")
    page.goto("/integrations/")

    add_connection(
        page,
        "google_drive",
        {
            "name": "Deal documents",
            "shared_drive": SHARED_DRIVE,
            "templates": f"demo | Discovery notes | https://docs.google.com/document/d/{TEMPLATE}/edit",
        },
        key_path,
    )
    add_connection(page, "google_calendar", {"name": "SA calendars"}, key_path)
    assert "Added the connection SA calendars." in page.inner_text("#flash")
    # The fake Google listens on loopback: point the connections at it, as the API allows.
    for connection in Connection.objects.all():
        connection.settings = {**connection.settings, "api_endpoint": fake.api_endpoint}
        connection.save()

    drive_row = page.locator(f"#connection-{Connection.objects.get(adapter='google_drive').pk}")
    page.goto("/integrations/")
    drive_row.get_by_role("button", name="Test connection").click()
    page.wait_for_selector(".flash-success")
    assert "reaches the shared drive “Pre-sales deals”" in page.inner_text("#flash")
    calendar_row = page.locator(
        f"#connection-{Connection.objects.get(adapter='google_calendar').pk}"
    )
    calendar_row.get_by_role("button", name="Sync now").click()
    page.wait_for_selector(".flash-success")
    page.locator("details#add-google_drive summary").click()
    page.locator("details#add-google_calendar summary").click()
    screenshot(page, "google-integrations")
    page.set_viewport_size(PHONE)
    screenshot(page, "google-integrations-390")
    assert no_sideways_scroll(page)
    page.set_viewport_size(DESKTOP)
    assert Activity.objects.filter(source="google_calendar", opportunity=deal).count() == 1

    google_drive.drive_documents_create(
        connection_id=Connection.objects.get(adapter="google_drive").pk,
        opportunity_id=deal.pk,
        stage_id=stages[1].pk,
    )
    document = DriveFile.objects.get(kind="document")
    page.set_viewport_size(DESKTOP)
    page.context.clear_cookies()
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    link = page.get_by_role("link", name="Google Docs")
    assert link.get_attribute("href") == f"/integrations/drive/opportunities/{deal.pk}/folder/"
    screenshot(page, "google-deal-guide")
    page.get_by_role("tab", name="Timeline").click()
    timeline = page.locator("#deal-timeline")
    assert f"Document created: {document.name}" in timeline.inner_text()
    assert "Acme architecture workshop" in timeline.inner_text()
    assert (
        "via Google Calendar" in timeline.inner_text() or "Google Calendar" in timeline.inner_text()
    )
    assert timeline.get_by_role("link", name="open in Google Docs").get_attribute("href") == (
        document.url
    )
    screenshot(page, "google-deal-timeline")
    page.set_viewport_size(PHONE)
    screenshot(page, "google-deal-timeline-390")
    assert no_sideways_scroll(page)


def test_the_account_form_takes_the_email_domain(page, root):
    account = factories.AccountFactory(name="Acme")
    login(page, "root")
    page.goto(f"/accounts/{account.pk}/edit/")

    page.get_by_label("Domain").fill("Acme.IO")
    screenshot(page, "google-account-domain")
    page.set_viewport_size(PHONE)
    screenshot(page, "google-account-domain-390")
    assert no_sideways_scroll(page)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/accounts/{account.pk}/")

    assert "acme.io" in page.inner_text("main")
    account.refresh_from_db()
    assert account.domain == "acme.io"
