"""A manager imports a pipeline through the upload page: preview first, then import."""

import pytest

from opportunities.models import Opportunity
from tests import factories
from tests.browser.conftest import login, screenshot
from tests.importers.conftest import write_csv
from tests.importers.test_maven import ACCOUNTS, HEADER, PIPELINE, PRODUCTS, TEAMS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def carols_maven_teams(carol):
    """The Maven sample's teams, managed by carol: a manager imports only into their teams."""
    for name in ("Mia Manager (Central)", "Max Boss (West)"):
        factories.TeamFactory(name=name).managers.add(carol)


@pytest.fixture
def maven_files(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    folder = tmp_path / "maven"
    folder.mkdir()
    return [
        write_csv(folder, "sales_pipeline.csv", PIPELINE, crlf=True),
        write_csv(folder, "sales_teams.csv", TEAMS, crlf=True),
        write_csv(folder, "products.csv", PRODUCTS, crlf=True),
        write_csv(folder, "accounts.csv", ACCOUNTS, crlf=True),
    ]


def test_manager_previews_then_imports_a_maven_export(page, carol, carols_maven_teams, maven_files):
    login(page, "carol")
    page.goto("/imports/")
    page.select_option("select[name=preset]", "maven-crm")
    page.set_input_files("input[name=files]", [str(path) for path in maven_files])
    page.click("text=Preview the import")
    page.wait_for_selector("#import-summary")
    # The figures are laid out by imports.css: read them once the page (style sheets included)
    # has loaded.
    page.wait_for_load_state("load")

    summary = page.inner_text("#import-summary")
    assert "5 deals" in summary and "MavenTech pipeline" in summary
    assert page.inner_text("#import-outcomes").split() == ["2", "won", "1", "lost", "2", "open"]
    assert page.locator("#import-first-rows tbody tr").count() == 5
    assert "GTX Pro" in page.inner_text("#import-first-rows")
    owners = page.locator("#import-owners tbody tr")
    assert owners.count() == 3
    assert owners.first.inner_text().split("\t") == [
        "Ann Agent",
        "new user without login: Ann Agent",
        "2",
    ]
    assert Opportunity.objects.count() == 0
    assert screenshot(page, "imports-preview").exists()

    page.click("#confirm-import")
    page.wait_for_load_state("networkidle")

    assert page.url.endswith("/imports/")
    assert "Imported 5 deals into MavenTech pipeline v1: 5 new" in page.inner_text("main")
    assert Opportunity.objects.count() == 5
    assert screenshot(page, "imports-done").exists()


def test_preview_lists_rejected_rows_and_offers_no_import(
    page, carol, carols_maven_teams, maven_files
):
    bad = [HEADER, "X1,Ann Agent,GTX Pro,Acme,Negotiating,2017-01-02,,", *PIPELINE[1:]]
    write_csv(maven_files[0].parent, "sales_pipeline.csv", bad, crlf=True)
    login(page, "carol")
    page.goto("/imports/")
    page.set_input_files("input[name=files]", [str(path) for path in maven_files])
    page.click("text=Preview the import")
    page.wait_for_selector("#import-errors")

    rows = page.locator("#import-errors tbody tr")
    assert rows.count() == 1
    assert rows.first.inner_text().split("\t")[:2] == ["sales_pipeline.csv", "2"]
    assert page.locator("#confirm-import").count() == 0
    assert screenshot(page, "imports-errors").exists()


def test_a_manager_sees_each_row_for_a_team_they_do_not_manage_refused(page, carol, maven_files):
    login(page, "carol")
    page.goto("/imports/")
    page.set_input_files("input[name=files]", [str(path) for path in maven_files])
    page.click("text=Preview the import")
    page.wait_for_selector("#import-errors")

    rows = page.locator("#import-errors tbody tr")
    assert rows.count() == 5
    first = rows.first.inner_text().split("\t")
    assert first[:2] == ["sales_pipeline.csv", "2"]
    assert "team 'Mia Manager (Central)' does not exist: only an admin can create teams" in first[2]
    assert page.locator("#import-owners tbody tr").count() == 3
    assert page.locator("#confirm-import").count() == 0
    assert Opportunity.objects.count() == 0
    assert screenshot(page, "imports-refused-teams").exists()
