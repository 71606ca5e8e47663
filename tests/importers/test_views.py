"""The manager's upload page at /imports/: preview, confirm, permissions, CSRF, size limits."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from opportunities.importers import forms as import_forms
from opportunities.importers import views as import_views
from opportunities.models import Opportunity
from tests import factories
from tests.importers.test_maven import ACCOUNTS, HEADER, PIPELINE, PRODUCTS, TEAMS

pytestmark = pytest.mark.django_db

URL = "/imports/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def carols_maven_teams(carol):
    """The teams the Maven sample's deals go to, managed by carol: a manager imports only into
    the teams they manage."""
    teams = [
        factories.TeamFactory(name="Mia Manager (Central)"),
        factories.TeamFactory(name="Max Boss (West)"),
    ]
    for team in teams:
        team.managers.add(carol)
    return teams


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


def test_preview_shows_counts_and_first_rows_then_confirm_imports(carol, media, carols_maven_teams):
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


def test_a_pending_upload_can_only_be_confirmed_from_the_uploaders_session(
    carol, root, carols_maven_teams
):
    preview = logged_in(carol).post(URL, {"preset": "maven-crm", "files": maven_files()})

    response = logged_in(root).post(
        f"{URL}confirm/", {"token": preview.context["token"]}, follow=True
    )

    assert "no longer waiting" in response.content.decode()
    assert Opportunity.objects.count() == 0


def test_cancel_discards_the_uploaded_files(carol, media, carols_maven_teams):
    client = logged_in(carol)
    client.post(URL, {"preset": "maven-crm", "files": maven_files()})
    assert len(stored_files(media)) == 4

    response = client.post(f"{URL}cancel/", follow=True)

    assert "nothing was written" in response.content.decode()
    assert stored_files(media) == []
    assert Opportunity.objects.count() == 0


# --- who is who in the preview ----------------------------------------------------------------


@pytest.fixture
def plain_process(db):
    return factories.make_process(("Discovery", "Demo"), slug="plain")[0]


def generic_upload(client, rows, *, team="Observability EMEA"):
    mapping = SimpleUploadedFile(
        "mapping.yaml",
        b"process: plain\ncolumns:\n  external_id: id\n  name: title\n  stage: status\n"
        b"  owner: owner\n  team: team\n",
    )
    lines = ["id,title,status,owner,team", *(f"{row},{team}" for row in rows)]
    return client.post(
        URL, {"preset": "generic", "files": [csv_upload("deals.csv", lines)], "mapping": mapping}
    )


def owner_rows(response) -> list[list[str]]:
    """The preview's owner table as text, a list of cells per row."""
    html = response.content.decode()
    body = html.split('id="import-owners"', 1)[1].split("<tbody>", 1)[1].split("</tbody>")[0]
    return [
        [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]
        for cells in (
            re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
        )
    ]


def test_preview_shows_which_owners_exist_and_which_are_new_users_without_login(
    carol, alice, plain_process
):
    response = generic_upload(
        logged_in(carol), ["1,One,Demo,alice", "2,Two,Demo,Zed Zero", "3,Three,Demo,alice"]
    )

    assert response.status_code == 200 and response.context["token"]
    assert [(o.external_id, o.label) for o in response.context["owners"]] == [
        ("alice", "existing: Alice Archer"),
        ("Zed Zero", "new user without login: Zed Zero"),
    ]
    assert owner_rows(response) == [
        ["alice", "existing: Alice Archer (same username)", "2"],
        ["Zed Zero", "new user without login: Zed Zero", "1"],
    ]
    assert "1 user without login" in response.content.decode()
    assert get_user_model().objects.filter(first_name="Zed").count() == 0  # a dry run


def test_salesforce_preview_without_user_csv_lists_every_owner_id_and_warns(root):
    opportunities = [
        "CreatedDate,Id,IsDeleted,AccountId,Name,Amount,CloseDate,OwnerId,StageName",
        "01/03/2022,O1,FALSE,A1,Alpha,10,20/03/2022,0058d000001AbCd,Prospecting",
        "01/03/2022,O2,FALSE,A1,Beta,10,20/03/2022,0058d000001XyZw,Prospecting",
        "01/03/2022,O3,FALSE,A1,Gamma,10,20/03/2022,0058d000001AbCd,Prospecting",
    ]
    files = [
        csv_upload("Opportunity.csv", opportunities),
        csv_upload("Opportunity History.csv", ["OppID,CreatedDate,StageName"]),
    ]

    response = logged_in(root).post(URL, {"preset": "salesforce", "files": files})

    page = response.content.decode()
    assert response.status_code == 200
    assert "2 owner id(s) have no name: User.csv was not given." in page
    assert 'id="import-unnamed-owners"' in page
    assert owner_rows(response) == [
        ["0058d000001AbCd", "new user without login: 0058d000001AbCd no name in the files", "2"],
        ["0058d000001XyZw", "new user without login: 0058d000001XyZw no name in the files", "1"],
    ]


def test_a_managers_preview_names_each_row_in_a_team_they_do_not_manage(
    carol, other_team, media, plain_process
):
    response = generic_upload(logged_in(carol), ["1,One,Demo,carol"], team="Security APAC")

    page = response.content.decode()
    assert [(e.file, e.line) for e in response.context["errors"]] == [("deals.csv", 2)]
    assert "team &#x27;Security APAC&#x27; is not a team you manage" in page
    assert "nothing will be imported" in page and 'id="confirm-import"' not in page
    assert owner_rows(response) == [["carol", "existing: Carol Cho (same username)", "1"]]
    assert stored_files(media) == []
    assert Opportunity.objects.count() == 0
    assert not other_team.members.exists()


def test_the_previews_queries_do_not_grow_with_owners_and_deals(
    carol, alice, plain_process, django_assert_num_queries
):
    client = logged_in(carol)
    generic_upload(client, ["1,One,Demo,alice"])  # the session exists from here on
    with CaptureQueriesContext(connection) as few:
        generic_upload(client, ["1,One,Demo,alice", "2,Two,Demo,Zed Zero"])
    rows = [f"{n},Deal {n},Demo,Owner {n}" for n in range(1, 9)] + ["9,Nine,Demo,alice"]

    with django_assert_num_queries(len(few)):
        response = generic_upload(client, rows)

    assert len(response.context["owners"]) == 9
    assert response.context["new_owners"] == 8


def test_a_manager_imports_a_salesforce_export_into_a_team_they_pick(carol, team, other_team):
    """A Salesforce export names no team: a manager puts its deals in one of the teams they
    manage (and only those are offered); without a team, every row is refused."""
    opportunities = [
        "CreatedDate,Id,IsDeleted,AccountId,Name,Amount,CloseDate,OwnerId,StageName",
        "01/03/2022,O1,FALSE,A1,Alpha,10,20/03/2022,0058d000001AbCd,Prospecting",
    ]

    def files():
        return [
            csv_upload("Opportunity.csv", opportunities),
            csv_upload("Opportunity History.csv", ["OppID,CreatedDate,StageName"]),
        ]

    client = logged_in(carol)
    page = client.get(URL).content.decode()
    assert team.name in page and other_team.name not in page
    refused = client.post(URL, {"preset": "salesforce", "files": files()})
    assert "has no team" in refused.content.decode()
    other = client.post(URL, {"preset": "salesforce", "files": files(), "team": other_team.pk})
    assert other.status_code == 400  # not a choice for carol
    response = client.post(URL, {"preset": "salesforce", "files": files(), "team": team.pk})
    assert response.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)
    confirmed = client.post("/imports/confirm/", {"token": token})
    assert confirmed.status_code == 302
    assert Opportunity.objects.get(name="Alpha").team_id == team.pk
