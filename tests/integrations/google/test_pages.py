"""What people see: the admins' forms for the two Google connections (the key uploaded, never
shown again), "Test connection", the deal page's documents and its "Google Docs" tool link."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import Connection, DriveFile
from integrations.sync import google_drive
from tests import factories
from tests.integrations.google.conftest import SHARED_DRIVE, TEMPLATE

pytestmark = pytest.mark.django_db

HOME = "/integrations/"
HTMX = {"HX-Request": "true"}


def key_file(info: dict, name="epos-sync-key.json"):
    return SimpleUploadedFile(name, json.dumps(info).encode(), content_type="application/json")


def test_the_page_offers_both_google_forms_with_a_key_upload(client, root):
    client.force_login(root)

    page = client.get(HOME).content.decode()

    for adapter in ("google_drive", "google_calendar"):
        form = re.search(rf'<details[^>]*id="add-{adapter}".*?</details>', page, re.S).group(0)
        assert 'enctype="multipart/form-data"' in form
        assert 'type="file" name="key_file"' in form


def test_an_admin_adds_a_drive_connection_with_the_key_file(client, root, drive, notes_item):
    client.force_login(root)
    info = drive.credentials()

    response = client.post(
        "/integrations/connections/",
        {
            "adapter": "google_drive",
            "name": "Deal documents",
            "key_file": key_file(info),
            "shared_drive": f"https://drive.google.com/drive/folders/{SHARED_DRIVE}",
            "templates": f"demo | Discovery notes | https://docs.google.com/document/d/{TEMPLATE}/edit",
        },
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert (connection.system, connection.adapter) == ("google", "google_drive")
    assert connection.settings == {
        "shared_drive_id": SHARED_DRIVE,
        "templates": [{"stage": "demo", "item": "Discovery notes", "template_id": TEMPLATE}],
    }
    assert connection.credentials == info
    assert info["private_key"][40:80] not in connection.credentials_encrypted
    page = client.get(HOME).content.decode()
    assert "Added the connection Deal documents." in page
    assert "PRIVATE KEY" not in page


def test_a_file_that_is_no_service_account_key_is_refused(client, root, drive, notes_item):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/",
        {
            "adapter": "google_drive",
            "name": "Deal documents",
            "key_file": key_file({"type": "authorized_user", "client_id": "x"}),
            "shared_drive": SHARED_DRIVE,
            "templates": f"demo | Discovery notes | {TEMPLATE}",
        },
    )

    assert response.status_code == 400
    assert "not a Google service-account key" in response.content.decode()
    assert not Connection.objects.exists()


def test_a_template_line_for_an_unknown_item_is_refused(client, root, drive, notes_item):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/",
        {
            "adapter": "google_drive",
            "name": "Deal documents",
            "key_file": key_file(drive.credentials()),
            "shared_drive": SHARED_DRIVE,
            "templates": f"demo | Discovery notes | {TEMPLATE}\ndemo | Sizing sheet | {TEMPLATE}",
        },
    )

    assert response.status_code == 400
    assert "Template 2: no stage “demo” has an item “Sizing sheet”." in response.content.decode()
    assert not Connection.objects.exists()


def test_an_admin_adds_a_calendar_connection(client, root, calendar):
    client.force_login(root)

    response = client.post(
        "/integrations/connections/",
        {
            "adapter": "google_calendar",
            "name": "SA calendars",
            "key_file": key_file(calendar.credentials()),
            "calendars": "Alice@Example.com, bob@example.com",
            "delegation": "on",
            "since_days": "30",
            "internal_domains": "example.com example.org",
        },
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert connection.adapter == "google_calendar"
    assert connection.settings == {
        "calendars": ["alice@example.com", "bob@example.com"],
        "delegation": True,
        "since_days": 30,
        "internal_domains": ["example.com", "example.org"],
    }


def test_test_connection_answers_in_plain_words(client, root, calendar_connection, alice):
    client.force_login(root)

    response = client.post(f"/integrations/connections/{calendar_connection.pk}/test/", follow=True)

    assert f"SA calendars: Connection works. Read the calendars {alice.email}." in (
        response.content.decode()
    )


def test_the_deal_page_lists_the_document_and_its_tool_opens_the_folder(
    client, alice, drive_connection, drive, opportunity, stages
):
    docs = factories.ToolFactory(
        slug="google-docs", name="Google Docs", url="https://docs.google.com/"
    )
    stages[1].tools.add(docs)
    opportunity.stage = stages[1]
    opportunity.save()
    client.force_login(alice)
    folder_link = reverse("integrations:drive-folder", args=[opportunity.pk])

    page = client.get(reverse("opportunities:opportunity-detail", args=[opportunity.pk]))
    assert f'href="{folder_link}"' in page.content.decode()
    # No folder yet: the tool opens Google Docs.
    assert client.get(folder_link)["Location"] == "https://docs.google.com/"

    google_drive.drive_documents_create(
        connection_id=drive_connection.pk, opportunity_id=opportunity.pk, stage_id=stages[1].pk
    )
    folder = DriveFile.objects.get(kind="folder")
    document = DriveFile.objects.get(kind="document")
    assert client.get(folder_link)["Location"] == folder.url

    url = reverse("opportunities:timeline", args=[opportunity.pk])
    html = client.get(url, {"kind": "document"}, headers=HTMX).content.decode()
    assert re.findall(r'data-kind="(\w+)"', html) == ["document"]
    assert f"Document created: {document.name}" in html
    assert f'<a href="{document.url}" target="_blank"' in html
    assert "Google Drive" in html and "open in Google Docs" in html


def test_another_teams_sa_cannot_follow_the_folder_link(
    client, dave, drive_connection, opportunity, stages
):
    client.force_login(dave)

    response = client.get(reverse("integrations:drive-folder", args=[opportunity.pk]))

    assert response.status_code == 404


def test_the_account_form_keeps_the_domain_in_lowercase(client, carol):
    account = factories.AccountFactory(name="Acme")
    client.force_login(carol)
    url = reverse("opportunities:account-edit", args=[account.pk])
    data = {"name": "Acme", "customer_type": "enterprise", "domain": "Acme.IO"}

    assert client.post(url, data).status_code == 302
    account.refresh_from_db()
    assert account.domain == "acme.io"
    assert (
        "acme.io"
        in client.get(reverse("opportunities:account-detail", args=[account.pk])).content.decode()
    )

    refused = client.post(url, {**data, "domain": "https://acme.io"})
    assert refused.status_code == 200
    assert "Enter a domain like acme.com" in refused.content.decode()
    account.refresh_from_db()
    assert account.domain == "acme.io"


def test_the_api_reads_and_writes_the_domain(api, carol):
    api.as_user(carol)

    created = api.post(
        "/api/v1/accounts/", {"name": "Globex", "domain": "Globex.com"}, format="json"
    )

    assert created.status_code == 201, created.content
    assert created.json()["domain"] == "globex.com"
