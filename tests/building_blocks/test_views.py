import json

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from building_blocks import services
from building_blocks.models import BlockUsage, BuildingBlock, DiscoveryLink, TrainingPath
from epos.lib.roles import user_roles
from opportunities.permissions import can_edit_opportunity
from opportunities.selectors import opportunity_get
from tests import factories
from tests.building_blocks.helpers import PDF, make_block, upload

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"building_blocks:{name}", args=args)


@pytest.fixture
def filed_draft(erin):
    return make_block(erin, title="Secret draft", file=upload("secret.pdf", PDF))


@pytest.fixture
def filed_published(erin, frank):
    return make_block(erin, publish_by=frank, title="Public deck", file=upload("deck.pdf", PDF))


# --- who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "carol", "dave"])
def test_sas_and_managers_never_see_a_draft_by_page_search_or_file(
    client, request, persona, filed_draft, filed_published
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url("block-detail", filed_draft.pk)).status_code == 404
    assert client.get(url("block-file", filed_draft.pk)).status_code == 404
    listing = client.get(url("block-list"), {"q": "secret"}).content.decode()
    assert "Secret draft" not in listing
    assert client.get(url("block-list"), {"status": "draft"}).context["result"].total == 0
    assert client.get(url("block-detail", filed_published.pk)).status_code == 200
    download = client.get(url("block-file", filed_published.pk))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF


def test_curators_see_drafts_and_their_files(client, erin, frank, filed_draft):
    client.force_login(frank)
    assert client.get(url("block-detail", filed_draft.pk)).status_code == 200
    response = client.get(url("block-file", filed_draft.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert 'filename="secret.pdf"' in response["Content-Disposition"]


def test_office_and_text_files_are_downloaded_not_shown(client, erin, frank, alice):
    block = make_block(erin, publish_by=frank, file=upload("notes.md", b"# Notes"))
    client.force_login(alice)
    response = client.get(url("block-file", block.pk))
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"].startswith("text/markdown")


def test_files_are_not_served_from_media_url(client, alice, filed_published):
    client.force_login(alice)
    assert client.get("/media/" + filed_published.file.name).status_code == 404


CURATOR_ONLY_GET = ["block-create", "review-queue"]
CURATOR_ONLY_BLOCK_GET = ["block-edit", "block-history"]
CURATOR_ONLY_POST = [
    "block-submit",
    "block-approve",
    "block-send-back",
    "block-archive",
    "block-unarchive",
    "block-reviewed",
]


@pytest.mark.parametrize("persona", ["alice", "carol"])
def test_curator_pages_and_actions_are_refused_to_other_roles(client, request, persona, published):
    client.force_login(request.getfixturevalue(persona))
    for name in CURATOR_ONLY_GET:
        assert client.get(url(name)).status_code == 403, name
    for name in CURATOR_ONLY_BLOCK_GET:
        assert client.get(url(name, published.pk)).status_code == 403, name
    for name in CURATOR_ONLY_POST:
        assert client.post(url(name, published.pk), {"comment": "x"}).status_code == 403, name
    assert client.post(url("block-restore", published.pk, 1)).status_code == 403
    assert client.get(url("block-version-file", published.pk, 1)).status_code == 403
    assert BuildingBlock.objects.get().status == "published"


@pytest.mark.parametrize(
    ("name", "needs_block"),
    [
        ("block-list", False),
        ("block-create", False),
        ("review-queue", False),
        ("catalog", False),
        ("training", False),
        ("block-detail", True),
        ("block-edit", True),
        ("block-history", True),
    ],
)
def test_every_page_renders_for_a_curator(client, erin, published, name, needs_block):
    client.force_login(erin)
    response = client.get(url(name, published.pk) if needs_block else url(name))
    assert response.status_code == 200


def test_pages_need_login_and_a_role(client, nobody):
    assert client.get(url("block-list")).status_code == 302
    client.force_login(nobody)
    assert client.get(url("block-list")).status_code == 403
    assert client.get(url("catalog")).status_code == 403


# --- the curator workflow through the pages ------------------------------------------------------


def test_write_submit_send_back_and_publish_through_the_pages(client, erin, frank, stages):
    client.force_login(erin)
    response = client.post(
        url("block-create"),
        {"title": "POC plan", "kind": "solution_template", "body": "# Plan", "stages": ["demo"]},
    )
    block = BuildingBlock.objects.get()
    assert response.status_code == 302 and response["Location"] == url("block-detail", block.pk)
    client.post(url("block-submit", block.pk))
    # The author may not approve: the button is not there and the action is refused.
    page = client.get(url("block-detail", block.pk)).content.decode()
    assert "Approve and publish" not in page and "another curator approves" in page
    client.post(url("block-approve", block.pk))
    assert BuildingBlock.objects.get().status == "in_review"

    client.force_login(frank)
    queue = client.get(url("review-queue")).content.decode()
    assert "POC plan" in queue and "Approve and publish" in queue
    client.post(url("block-send-back", block.pk), {"comment": ""})
    assert BuildingBlock.objects.get().status == "in_review"  # a comment is required
    client.post(url("block-send-back", block.pk), {"comment": "Add success criteria"})
    assert BuildingBlock.objects.get().status == "draft"

    client.force_login(erin)
    page = client.get(url("block-detail", block.pk)).content.decode()
    assert "Add success criteria" in page
    client.post(
        url("block-edit", block.pk),
        {
            "title": "POC plan",
            "kind": "solution_template",
            "body": "# Plan\n\n- criteria",
            "stages": ["demo"],
            "expected_version": 1,
            "note": "Added criteria",
        },
    )
    client.post(url("block-submit", block.pk))
    client.force_login(frank)
    client.post(url("block-approve", block.pk))
    block.refresh_from_db()
    assert (block.status, block.version, block.reviewer) == ("published", 2, frank)


def test_the_edit_form_refuses_a_stale_version(client, erin, published):
    services.block_update(block=published, actor=erin, body="changed meanwhile")
    client.force_login(erin)
    response = client.post(
        url("block-edit", published.pk),
        {"title": "x", "kind": "other", "body": "mine", "expected_version": 1},
    )
    assert response.status_code == 400
    assert "changed by someone else" in response.content.decode()
    assert BuildingBlock.objects.get().body == "changed meanwhile"


def test_preview_renders_markdown_without_saving_and_strips_scripts(client, erin):
    client.force_login(erin)
    response = client.post(url("markdown-preview"), {"body": "**bold** <script>x()</script>"})
    assert "<strong>bold</strong>" in response.content.decode()
    assert "<script>" not in response.content.decode()
    form = client.post(
        url("block-create"), {"title": "T", "kind": "other", "body": "# Hi", "preview": "1"}
    )
    assert "<h2>Hi</h2>" in form.content.decode()  # the page owns h1: headings start at h2
    assert not BuildingBlock.objects.exists()


def test_history_shows_a_diff_and_restores_as_a_new_version(client, erin):
    block = make_block(erin, title="Guide", body="line one\nline two")
    services.block_update(block=block, actor=erin, body="line one\nline 2")
    client.force_login(erin)
    response = client.get(url("block-history", block.pk), {"a": 1, "b": 2})
    diff = [line for kind, line in response.context["diff"] if kind in ("add", "del")]
    assert diff == ["-line two", "+line 2"]
    client.post(url("block-restore", block.pk, 1))
    block.refresh_from_db()
    assert (block.version, block.body) == (3, "line one\nline two")


def test_block_page_escapes_markdown_html(client, erin, frank, alice):
    block = make_block(erin, publish_by=frank, body='<img src=x onerror="alert(1)"> ok')
    client.force_login(alice)
    html = client.get(url("block-detail", block.pk)).content.decode()
    assert "onerror" not in html


# --- library query budget ------------------------------------------------------------------------


def _fill_library(n, erin, frank, offset):
    for index in range(n):
        make_block(
            erin,
            publish_by=frank,
            title=f"Tracing block {offset + index}",
            stages=["discovery"],
            use_cases=["observability"],
            industries=[f"Industry {index}"],
            products=["Kestrel APM"],
        )


# Session, user, roles, the facets with the total (one statement), the page, the page's tags.
LIBRARY_QUERIES = 6


@pytest.mark.parametrize("params", [{}, {"q": "tracing", "stage": "discovery"}])
def test_library_page_has_a_constant_query_count(
    client, alice, erin, frank, django_assert_num_queries, params
):
    client.force_login(alice)
    totals = []
    for batch, size in enumerate((3, 12)):
        _fill_library(size, erin, frank, offset=batch * 100)
        with django_assert_num_queries(LIBRARY_QUERIES):
            response = client.get(url("block-list"), params)
        assert response.status_code == 200
        totals.append(response.context["result"].total)
    assert totals == [3, 15]


# --- the opportunity panel -----------------------------------------------------------------------


@pytest.fixture
def catalog(db):
    return services.catalog_load()


def _render_panel(user, opportunity_id):
    """The partial as the opportunity page includes it: the page has already loaded the deal
    (with its account and stage), the user's roles and team ids."""
    request = RequestFactory().get(f"/opportunities/{opportunity_id}/")
    request.user = user
    request.htmx = False
    opportunity = opportunity_get(user=user, pk=opportunity_id)
    user_roles(user), can_edit_opportunity(user, opportunity)
    template = Template('{% include "building_blocks/partials/_opportunity_panel.html" %}')
    with CaptureQueriesContext(connection) as queries:
        html = template.render(Context({"request": request, "opportunity": opportunity}))
    return html, len(queries.captured_queries)


def test_the_panel_adds_three_queries_whatever_the_data(
    alice, erin, frank, opportunity, catalog, stages, team
):
    from building_blocks.models import ChallengeNeedLink

    opportunity.use_case = "observability"
    opportunity.save()
    links = list(ChallengeNeedLink.objects.filter(use_case="observability"))
    counts = []
    for round_ in range(2):
        for index in range(3 + 6 * round_):
            block = make_block(
                erin,
                publish_by=frank,
                title=f"Discovery block {round_}-{index}",
                stages=["discovery"],
                use_cases=["observability"],
                needs=[links[index].need],
            )
            other = factories.OpportunityFactory(stage=stages[0], team=team)
            services.block_usage_record(block=block, opportunity=other, actor=None)
            link = links[index + 3 * round_]
            services.discovery_links_add(
                opportunity=opportunity,
                actor=alice,
                pairs=[(link.challenge_id, link.need_id)],
                direction="top_down",
            )
        html, queries = _render_panel(alice, opportunity.pk)
        counts.append(queries)
        assert "Use in this deal" in html and "Record the ticked needs" in html
    # Recommendations (1), the catalog with the deal's discovery links (1), blocks per need (1).
    assert counts == [3, 3]
    assert DiscoveryLink.objects.count() == 12


def test_the_opportunity_page_shows_the_panel_for_three_more_queries(
    client, alice, opportunity, catalog, published, monkeypatch
):
    from django.template import TemplateDoesNotExist
    from django.template.engine import Engine

    services.block_update(block=published, actor=None, stages=["discovery"])
    opportunity.use_case = "observability"
    opportunity.save()
    client.force_login(alice)
    page = reverse("opportunities:opportunity-detail", args=[opportunity.pk])
    client.get(page)  # warm caches the page keeps between requests
    with CaptureQueriesContext(connection) as with_panel:
        html = client.get(page).content.decode()
    assert 'id="blocks-panel"' in html and "Published demo script" in html

    original = Engine.get_template

    def without_panel(engine, name):
        if name == "building_blocks/partials/_opportunity_panel.html":
            raise TemplateDoesNotExist(name)
        return original(engine, name)

    monkeypatch.setattr(Engine, "get_template", without_panel)
    with CaptureQueriesContext(connection) as bare:
        html = client.get(page).content.decode()
    assert 'id="blocks-panel"' not in html
    assert len(with_panel.captured_queries) - len(bare.captured_queries) == 3


def test_use_in_this_deal_from_the_panel_records_a_usage(client, alice, opportunity, published):
    services.block_update(block=published, actor=None, stages=["discovery"])
    client.force_login(alice)
    page = url("opportunity-panel", opportunity.pk)
    html = client.get(page).content.decode()
    assert "Published demo script" in html and "Made for the Discovery stage" in html
    response = client.post(
        url("block-use", published.pk), {"opportunity": opportunity.pk, "next": page}
    )
    assert response.status_code == 302 and response["Location"] == page
    usage = BlockUsage.objects.get()
    assert (usage.opportunity, usage.stage, usage.user) == (opportunity, opportunity.stage, alice)
    assert "✓ Used in this deal" in client.get(page).content.decode()


def test_use_from_htmx_answers_with_the_refreshed_panel(client, alice, opportunity, published):
    services.block_update(block=published, actor=None, stages=["discovery"])
    client.force_login(alice)
    response = client.post(
        url("block-use", published.pk), {"opportunity": opportunity.pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="blocks-panel"' in html
    assert "Used in this deal" in html
    said = json.loads(response["HX-Trigger"])
    assert said["epos:toast"]["message"].startswith("Recorded: “Published demo script” used in")
    assert "epos:deal-changed" in said


def test_an_outsider_cannot_use_a_block_in_someone_elses_deal(client, dave, opportunity, published):
    client.force_login(dave)
    response = client.post(url("block-use", published.pk), {"opportunity": opportunity.pk})
    assert response.status_code == 404
    assert client.get(url("opportunity-panel", opportunity.pk)).status_code == 404
    assert not BlockUsage.objects.exists()


def test_a_teammate_sees_the_panel_without_the_buttons(client, bob, opportunity, published):
    services.block_update(block=published, actor=None, stages=["discovery"])
    client.force_login(bob)
    html = client.get(url("opportunity-panel", opportunity.pk)).content.decode()
    assert "Published demo script" in html
    assert "Use in this deal" not in html and "Record the ticked" not in html
    response = client.post(url("block-use", published.pk), {"opportunity": opportunity.pk})
    assert response.status_code == 302 and not BlockUsage.objects.exists()


def test_discovery_top_down_and_bottom_up_are_recorded_from_the_panel(
    client, alice, opportunity, catalog
):
    from building_blocks.models import ChallengeNeedLink

    opportunity.use_case = "observability"
    opportunity.save()
    client.force_login(alice)
    page = url("opportunity-panel", opportunity.pk)
    html = client.get(page).content.decode()
    assert "Outages with an unknown cause hurt customer satisfaction" in html
    downtime = ChallengeNeedLink.objects.filter(challenge__slug="downtime-unknown-cause")
    pairs = [f"{link.challenge_id}:{link.need_id}" for link in downtime[:2]]
    client.post(
        url("discovery-add", opportunity.pk),
        {"direction": "top_down", "pair": pairs, "next": page},
    )
    sprawl = ChallengeNeedLink.objects.get(
        challenge__slug="monitoring-tool-sprawl", need__slug="unified-platform"
    )
    client.post(
        url("discovery-add", opportunity.pk),
        {"direction": "bottom_up", "pair": [f"{sprawl.challenge_id}:{sprawl.need_id}"]},
    )
    recorded = list(
        DiscoveryLink.objects.order_by("pk").values_list("direction", "challenge__slug")
    )
    assert recorded == [
        ("top_down", "downtime-unknown-cause"),
        ("top_down", "downtime-unknown-cause"),
        ("bottom_up", "monitoring-tool-sprawl"),
    ]
    link = DiscoveryLink.objects.last()
    client.post(
        url("discovery-update", opportunity.pk, link.pk),
        {"priority": 1, "impact_note": "Two tools up for renewal"},
    )
    link.refresh_from_db()
    assert (link.priority, link.impact_note) == (1, "Two tools up for renewal")
    client.post(url("discovery-remove", opportunity.pk, link.pk))
    assert DiscoveryLink.objects.count() == 2
    assert "Two tools up for renewal" not in client.get(page).content.decode()


def test_discovery_links_of_a_deal_the_user_cannot_edit_are_refused(
    client, bob, dave, opportunity, catalog
):
    from building_blocks.models import ChallengeNeedLink

    link = ChallengeNeedLink.objects.first()
    pair = f"{link.challenge_id}:{link.need_id}"
    client.force_login(dave)
    response = client.post(
        url("discovery-add", opportunity.pk), {"direction": "top_down", "pair": [pair]}
    )
    assert response.status_code == 404
    client.force_login(bob)
    client.post(url("discovery-add", opportunity.pk), {"direction": "top_down", "pair": [pair]})
    assert not DiscoveryLink.objects.exists()


# --- catalog and training ------------------------------------------------------------------------


def test_catalog_page_lists_the_links_of_a_use_case(client, alice, catalog):
    client.force_login(alice)
    response = client.get(url("catalog"), {"use_case": "security"})
    html = response.content.decode()
    assert "Limited visibility and blind spots across the estate" in html
    assert "SIEM with broad data-source coverage" in html
    assert "Outages with an unknown cause" not in html


def test_training_progress_and_the_managers_team_view(client, alice, carol, erin, frank):
    path = TrainingPath.objects.create(name="SA onboarding", slug="sa-onboarding", role="sa")
    step = path.steps.create(position=1, block=make_block(erin, publish_by=frank, title="Path"))
    path.steps.create(position=2, block=make_block(erin, publish_by=frank, title="Demo"))
    client.force_login(alice)
    assert "0 of 2 done" in client.get(url("training")).content.decode()
    client.post(url("training-step", step.pk), {"done": "1"})
    assert "1 of 2 done" in client.get(url("training")).content.decode()
    assert client.get(url("training-team")).status_code == 403
    client.force_login(carol)
    team_page = client.get(url("training-team"))
    assert team_page.status_code == 200
    rows = {member.user.username: cells for member, cells in team_page.context["rows"]}
    assert rows["alice"] == [(1, 2)]


def test_a_training_step_of_another_role_cannot_be_ticked(client, alice, erin, frank):
    path = TrainingPath.objects.create(name="Curators", slug="curators", role="curator")
    step = path.steps.create(position=1, block=make_block(erin, publish_by=frank))
    client.force_login(alice)
    assert client.post(url("training-step", step.pk)).status_code == 404
    assert not step.completions.exists()
