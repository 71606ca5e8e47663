"""The manager's upload page at /imports/: preview, confirm, permissions, CSRF, size limits."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from opportunities.importers import forms as import_forms
from opportunities.importers import views as import_views
from opportunities.models import Opportunity
from tests.importers.test_maven import ACCOUNTS, HEADER, PIPELINE, PRODUCTS, TEAMS

pytestmark = pytest.mark.django_db

URL = "/imports/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def csv_upload(name: str, lines: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\r\n".join(lines) + "\r\n").encode(), "text/csv")


def maven_files(pipeline=PIPELINE) -> list[SimpleUploadedFile]:
    return [
        csv_upload("sales_pipeline.csv", pipeline),
        csv_upload("sales_teams.csv", TEAMS),
        csv_upload("products.csv", PRODUCTS),
        csv_upload("accounts.csv", ACCOUNTS),
    ]


def logged_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 403), ("erin", 403), ("nobody", 403), ("carol", 200), ("root", 200)],
)
def test_only_managers_and_admins_open_the_upload_page(request, persona, status):
    client = logged_in(request.getfixturevalue(persona))

    response = client.get(URL)

    assert response.status_code == status
    if status == 200:
        assert b"Import a pipeline" in response.content


@pytest.mark.parametrize("persona", ["alice", "erin", "nobody"])
def test_other_roles_cannot_upload_or_confirm(request, persona, media):
    client = logged_in(request.getfixturevalue(persona))

    upload = client.post(URL, {"preset": "maven-crm", "files": maven_files()})
    confirm = client.post(f"{URL}confirm/", {"token": "anything"})

    assert (upload.status_code, confirm.status_code) == (403, 403)
    assert Opportunity.objects.count() == 0
    assert stored_files(media) == []


def test_anonymous_users_are_sent_to_log_in():
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_preview_shows_counts_and_first_rows_then_confirm_imports(carol, media):
    client = logged_in(carol)

    preview = client.post(URL, {"preset": "maven-crm", "files": maven_files()})

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "5 deals" in page and "MavenTech pipeline" in page
    assert preview.context["outcomes"] == {"won": 2, "lost": 1, "open": 2}
    assert preview.context["stages"] == [
        ("Prospecting", 1),
        ("Engaging", 1),
        ("Won", 2),
        ("Lost", 1),
    ]
    assert [row["external_id"] for row in preview.context["first_rows"]] == [
        "W1",
        "W2",
        "L1",
        "E1",
        "P1",
    ]
    assert 'id="confirm-import"' in page
    assert Opportunity.objects.count() == 0
    assert len(stored_files(media)) == 4

    token = preview.context["token"]
    done = client.post(f"{URL}confirm/", {"token": token}, follow=True)

    assert done.redirect_chain == [(URL, 302)]
    assert Opportunity.objects.count() == 5
    assert "Imported 5 deals into MavenTech pipeline v1: 5 new" in done.content.decode()
    assert stored_files(media) == []
    again = client.post(f"{URL}confirm/", {"token": token}, follow=True)
    assert "no longer waiting" in again.content.decode()
    assert Opportunity.objects.count() == 5


def test_preview_lists_every_error_with_its_row_and_offers_no_import(carol, media):
    bad = [HEADER, "X1,Ann Agent,GTX Pro,Acme,Negotiating,2017-01-02,,", *PIPELINE[1:]]
    bad.append("X2,Ann Agent,GTX Pro,Acme,Won,2017-01-12,2017-01-02,10")

    response = logged_in(carol).post(URL, {"preset": "maven-crm", "files": maven_files(bad)})

    page = response.content.decode()
    assert response.status_code == 200
    assert [(e.line, e.file) for e in response.context["errors"]] == [
        (2, "sales_pipeline.csv"),
        (8, "sales_pipeline.csv"),
    ]
    assert "unknown deal_stage &#x27;Negotiating&#x27;" in page
    assert "before engage_date" in page
    assert "nothing will be imported" in page
    assert 'id="confirm-import"' not in page
    assert stored_files(media) == []
    assert Opportunity.objects.count() == 0


def test_posts_without_a_csrf_token_are_refused(carol):
    client = logged_in(carol, enforce_csrf_checks=True)

    upload = client.post(URL, {"preset": "maven-crm", "files": maven_files()})
    confirm = client.post(f"{URL}confirm/", {"token": "x"})

    assert (upload.status_code, confirm.status_code) == (403, 403)
    assert Opportunity.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(carol, monkeypatch, media):
    monkeypatch.setattr(import_forms, "MAX_FILE_BYTES", 100)

    response = logged_in(carol).post(URL, {"preset": "maven-crm", "files": maven_files()})

    assert response.status_code == 400
    assert "the limit is 100" in response.content.decode()
    assert stored_files(media) == []


def test_an_oversized_request_body_is_refused_before_reading_it(carol, monkeypatch):
    monkeypatch.setattr(import_views, "MAX_FILE_BYTES", 10)
    padding = csv_upload("notes.csv", ["x" * 200_000])

    response = logged_in(carol).post(
        URL, {"preset": "maven-crm", "files": [*maven_files(), padding]}
    )

    assert response.status_code == 413
    assert Opportunity.objects.count() == 0


def test_generic_format_needs_a_mapping_file(carol):
    response = logged_in(carol).post(
        URL, {"preset": "generic", "files": [csv_upload("deals.csv", ["a,b", "1,2"])]}
    )

    assert response.status_code == 400
    assert "A generic CSV needs a mapping file." in response.content.decode()


def test_a_pending_upload_can_only_be_confirmed_from_the_uploaders_session(carol, root):
    preview = logged_in(carol).post(URL, {"preset": "maven-crm", "files": maven_files()})

    response = logged_in(root).post(
        f"{URL}confirm/", {"token": preview.context["token"]}, follow=True
    )

    assert "no longer waiting" in response.content.decode()
    assert Opportunity.objects.count() == 0


def test_cancel_discards_the_uploaded_files(carol, media):
    client = logged_in(carol)
    client.post(URL, {"preset": "maven-crm", "files": maven_files()})
    assert len(stored_files(media)) == 4

    response = client.post(f"{URL}cancel/", follow=True)

    assert "nothing was written" in response.content.decode()
    assert stored_files(media) == []
    assert Opportunity.objects.count() == 0
