"""The training path editor in real Chromium: a curator builds and reorders a path, and an SA
sees it in the new order."""

import pytest

from building_blocks import services
from building_blocks.models import TrainingPath
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frank(db):
    return factories.UserFactory(
        username="frank", first_name="Frank", last_name="Fox", role="curator"
    )


def publish(author, reviewer, **fields):
    block = services.block_create(actor=author, body="Some **content**.", **fields)
    services.block_submit(block=block, actor=author)
    return services.block_approve(block=block, actor=reviewer)


def test_a_curator_builds_and_reorders_a_path_the_sa_then_follows(page, alice, erin, frank):
    publish(erin, frank, title="Observability discovery guide", kind="discovery_guide")
    publish(erin, frank, title="Tracing demo script", kind="demo_script")
    publish(erin, frank, title="SIEM sizing sheet", kind="sizing_sheet")
    services.block_create(actor=erin, title="Pricing draft", kind="other", body="Not yet")

    login(page, "erin")
    page.goto("/training/")
    page.get_by_role("link", name="+ New training path").click()
    page.fill("input[name=name]", "Observability first week")
    page.select_option("select[name=role]", "sa")
    page.fill("textarea[name=description]", "Discovery first, then the demo.")
    page.get_by_role("button", name="Create the path").click()
    page.get_by_role("heading", name="Edit the training path “Observability first week”").wait_for()
    path = TrainingPath.objects.get()
    assert path.slug == "observability-first-week"

    add = page.locator("#add-step")
    # Drafts are not offered: only the three published blocks (and the prompt).
    assert add.locator("select[name=block] option").count() == 4
    add.locator("select[name=block]").select_option(
        label="Observability discovery guide · Discovery guide"
    )
    add.locator("input[name=note]").fill("Read before your first call")
    add.get_by_role("button", name="Add the step").click()
    page.locator("[data-step]").first.wait_for()
    add.locator("select[name=block]").select_option(label="Tracing demo script · Demo script")
    add.get_by_role("button", name="Add the step").click()
    page.locator("[data-step]").nth(1).wait_for()
    steps = page.locator("[data-testid=editor-steps] .bb-step-title")
    assert steps.all_inner_texts() == [
        "1. Observability discovery guide",
        "2. Tracing demo script",
    ]

    page.get_by_role("button", name="Move step 2 up").click()
    page.wait_for_load_state("networkidle")
    assert steps.all_inner_texts() == [
        "1. Tracing demo script",
        "2. Observability discovery guide",
    ]
    assert page.get_by_role("button", name="Move step 1 up").is_disabled()
    assert list(path.steps.order_by("position").values_list("position", "block__title")) == [
        (1, "Tracing demo script"),
        (2, "Observability discovery guide"),
    ]
    screenshot(page, "training-path-editor")

    page.context.clear_cookies()
    login(page, "alice")
    page.goto("/training/")
    card = page.locator('[data-path="observability-first-week"]')
    assert card.locator(".bb-step-title").all_inner_texts() == [
        "1. Tracing demo script",
        "2. Observability discovery guide",
    ]
    assert "Read before your first call" in card.inner_text()
    assert card.get_by_role("link", name="Edit").count() == 0
    assert page.get_by_role("link", name="+ New training path").count() == 0
    screenshot(page, "training-path-sa")
