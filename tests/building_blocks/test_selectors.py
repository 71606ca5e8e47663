from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from building_blocks import selectors, services
from building_blocks.models import BlockUsage, DiscoveryLink
from opportunities.services import opportunity_move_to_stage
from tests import factories
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db


def titles(blocks):
    return [block.title for block in blocks]


# --- search --------------------------------------------------------------------------------------


@pytest.fixture
def library(erin, frank):
    make_block(erin, publish_by=frank, title="Unrelated sizing sheet", body="Hosts and volumes.")
    make_block(
        erin,
        publish_by=frank,
        title="Body match",
        summary="A guide.",
        body="Explains distributed tracing.",
    )
    make_block(
        erin, publish_by=frank, title="Summary match", summary="Tracing in five minutes.", body="x"
    )
    make_block(erin, publish_by=frank, title="Tracing demo", summary="Short.", body="Show it.")


def test_search_ranks_title_over_summary_over_body(library, alice):
    result = selectors.block_search(user=alice, data={"q": "tracing"})
    assert titles(result.page.object_list) == ["Tracing demo", "Summary match", "Body match"]
    assert result.total == 3


def test_search_matches_word_prefixes_and_needs_every_word(library, alice):
    assert titles(selectors.block_search(user=alice, data={"q": "trac"}).page.object_list) == [
        "Tracing demo",
        "Summary match",
        "Body match",
    ]
    both = selectors.block_search(user=alice, data={"q": "distributed tracing"})
    assert titles(both.page.object_list) == ["Body match"]


def test_search_never_returns_drafts_to_an_sa_but_does_to_a_curator(library, alice, erin):
    make_block(erin, title="Tracing draft", body="tracing")
    assert "Tracing draft" not in titles(
        selectors.block_search(user=alice, data={"q": "tracing"}).page.object_list
    )
    assert "Tracing draft" in titles(
        selectors.block_search(user=erin, data={"q": "tracing"}).page.object_list
    )


def test_search_with_no_role_sees_nothing(library, nobody):
    assert selectors.block_search(user=nobody, data={}).total == 0


def test_sorting_by_title_and_recency(library, alice):
    by_title = selectors.block_search(user=alice, data={"sort": "title"})
    assert titles(by_title.page.object_list) == sorted(titles(by_title.page.object_list))
    newest = selectors.block_search(user=alice, data={"sort": "newest"})
    assert titles(newest.page.object_list)[0] == "Tracing demo"


@pytest.mark.usefixtures("postgres_only")
def test_postgres_keeps_a_weighted_search_vector_and_a_gin_index(erin):
    block = make_block(erin, title="Kubernetes runbook", summary="Pods", body="Nodes")
    vector = type(block).objects.values_list("search_vector", flat=True).get(pk=block.pk)
    assert "'kubernet':1A" in vector and "'pod':3B" in vector and "'node':4C" in vector
    services.block_update(block=block, actor=erin, title="Cluster runbook")
    vector = type(block).objects.values_list("search_vector", flat=True).get(pk=block.pk)
    assert "'cluster':1A" in vector and "kubernet" not in vector
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'building_blocks_search_gin'"
        )
        assert "USING gin (search_vector)" in cursor.fetchone()[0]


def test_sqlite_leaves_the_search_vector_empty(erin):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite behaviour")
    block = make_block(erin, title="Anything")
    assert type(block).objects.values_list("search_vector", flat=True).get(pk=block.pk) is None


# --- facets --------------------------------------------------------------------------------------


def test_facets_count_what_each_value_would_give(erin, frank, alice):
    make_block(
        erin,
        publish_by=frank,
        title="A",
        kind="demo_script",
        stages=["discovery"],
        use_cases=["observability"],
    )
    make_block(
        erin,
        publish_by=frank,
        title="B",
        kind="demo_script",
        stages=["demo"],
        use_cases=["observability"],
    )
    make_block(
        erin,
        publish_by=frank,
        title="C",
        kind="case_study",
        stages=["discovery"],
        use_cases=["security"],
    )
    make_block(erin, title="Draft", kind="case_study", stages=["discovery"])

    def counts(data):
        facets = selectors.block_facets(user=alice, data=data)
        return {name: {f.value: f.count for f in values} for name, values in facets.items()}

    everything = counts({})
    assert everything["kind"] == {"demo_script": 2, "case_study": 1}
    assert everything["stage"] == {"discovery": 2, "demo": 1}
    assert everything["use_case"] == {"observability": 2, "security": 1}

    # With a stage picked, the other facets narrow; the stage facet still shows the others.
    picked = counts({"stage": "discovery"})
    assert picked["stage"] == {"discovery": 2, "demo": 1}
    assert picked["kind"] == {"demo_script": 1, "case_study": 1}
    assert picked["use_case"] == {"observability": 1, "security": 1}

    curator_view = selectors.block_facets(user=erin, data={})
    assert {f.value: f.count for f in curator_view["kind"]} == {
        "demo_script": 2,
        "case_study": 2,
    }


# --- recommendations -----------------------------------------------------------------------------


@pytest.fixture
def deal(alice, team, stages):
    account = factories.AccountFactory(name="First Bank", industry="Banking")
    return factories.OpportunityFactory(
        name="Bank observability",
        stage=stages[0],
        owner=alice,
        team=team,
        account=account,
        use_case="observability",
        product="Kestrel APM",
    )


def _won_deals_using(block, n, *, stages, team):
    for _ in range(n):
        other = factories.OpportunityFactory(stage=stages[0], team=team)
        services.block_usage_record(block=block, opportunity=other, actor=None)
        opportunity_move_to_stage(
            opportunity=other, to_stage=stages[3], actor=None, override_reason="test"
        )


def test_recommendations_rank_stage_use_case_industry_product_and_effectiveness(
    deal, erin, frank, stages, team
):
    make_block(
        erin,
        publish_by=frank,
        title="A stage+use case+industry",
        stages=["discovery"],
        use_cases=["observability"],
        industries=["Banking"],
    )
    make_block(
        erin,
        publish_by=frank,
        title="B stage+use case",
        stages=["discovery"],
        use_cases=["observability"],
    )
    make_block(erin, publish_by=frank, title="C stage only", stages=["discovery"])
    make_block(
        erin,
        publish_by=frank,
        title="D any stage, use case+product",
        use_cases=["observability"],
        products=["Kestrel APM"],
    )
    make_block(
        erin,
        publish_by=frank,
        title="E other stage",
        stages=["demo"],
        use_cases=["observability"],
        industries=["Banking"],
    )
    make_block(erin, publish_by=frank, title="F any stage, other use case", use_cases=["security"])
    make_block(erin, title="G draft", stages=["discovery"], use_cases=["observability"])
    proven = make_block(
        erin,
        publish_by=frank,
        title="H stage+use case, won 4 of 4",
        stages=["discovery"],
        use_cases=["observability"],
    )
    _won_deals_using(proven, 4, stages=stages, team=team)

    recommendations = selectors.recommended_blocks(opportunity=deal, limit=10)
    assert titles(r.block for r in recommendations) == [
        "A stage+use case+industry",
        "H stage+use case, won 4 of 4",
        "B stage+use case",
        "D any stage, use case+product",
        "C stage only",
    ]
    why = {r.block.title: r.why for r in recommendations}
    assert why["A stage+use case+industry"] == [
        "Made for the Discovery stage",
        "For observability deals",
        "Fits the Banking industry",
    ]
    assert why["H stage+use case, won 4 of 4"][-1] == "Won 4 of 4 closed deals that used it"
    assert why["D any stage, use case+product"] == [
        "Useful at any stage",
        "For observability deals",
        "Covers Kestrel APM",
    ]


def test_recommendations_follow_the_deals_discovery_and_mark_blocks_already_used(
    deal, erin, frank, alice
):
    services.catalog_load()
    from building_blocks.models import ChallengeNeedLink, TechnicalNeed

    tracing = TechnicalNeed.objects.get(slug="distributed-tracing")
    helper = make_block(erin, publish_by=frank, title="Tracing runbook", needs=[tracing])
    make_block(erin, publish_by=frank, title="Unrelated runbook", needs=[])
    assert "Tracing runbook" not in titles(
        r.block for r in selectors.recommended_blocks(opportunity=deal)
    )
    link = ChallengeNeedLink.objects.filter(need=tracing).first()
    services.discovery_links_add(
        opportunity=deal, actor=alice, pairs=[(link.challenge_id, tracing.pk)], direction="top_down"
    )
    services.block_usage_record(block=helper, opportunity=deal, actor=alice)
    (recommendation,) = selectors.recommended_blocks(opportunity=deal)
    assert recommendation.block == helper and recommendation.used_here
    assert recommendation.why == [
        "Useful at any stage",
        "Helps with “Distributed tracing” from this deal's discovery",
    ]


# --- effectiveness -------------------------------------------------------------------------------


def test_effectiveness_against_deals_that_reached_the_same_stage_without_the_block(
    erin, frank, team
):
    process, (discovery, demo, proposal, won, lost) = factories.make_process()
    block = make_block(erin, publish_by=frank, title="Demo script")
    start = timezone.now() - timedelta(days=200)

    def deal(reach_demo=True, ends=None, days=0, used=False, qualified_out=False):
        opportunity = factories.OpportunityFactory(stage=discovery, team=team, created_at=start)
        if reach_demo:
            opportunity_move_to_stage(
                opportunity=opportunity,
                to_stage=demo,
                actor=None,
                moved_at=start + timedelta(days=1),
            )
        if used:
            services.block_usage_record(
                block=block, opportunity=opportunity, actor=None, stage=demo
            )
        if ends:
            opportunity_move_to_stage(
                opportunity=opportunity,
                to_stage=won if ends == "won" else lost,
                actor=None,
                moved_at=start + timedelta(days=days),
                loss_reason="price",
                qualified_out=qualified_out,
            )

    # With the block: won after 10, 20 and 36 days, one lost, one still open.
    deal(used=True, ends="won", days=10)
    deal(used=True, ends="won", days=20)
    deal(used=True, ends="won", days=36)
    deal(used=True, ends="lost", days=15)
    deal(used=True)
    # Reached Demo without it: one won after 40 days, two lost, one qualified out.
    deal(ends="won", days=40)
    deal(ends="lost", days=12)
    deal(ends="lost", days=14)
    deal(ends="lost", days=9, qualified_out=True)
    # Never reached Demo: in neither group.
    deal(reach_demo=False, ends="lost", days=5)
    deal(reach_demo=False, ends="won", days=3)

    figures = selectors.block_effectiveness(block=block, user=erin)
    assert figures.uses == 5
    assert figures.stage_names == ["Demo"]
    assert (figures.with_block.deals, figures.with_block.won, figures.with_block.lost) == (5, 3, 1)
    assert figures.with_block.win_rate == pytest.approx(0.75)
    assert figures.with_block.mttc_days == pytest.approx((10 + 20 + 36) / 3)
    assert (figures.without_block.deals, figures.without_block.won) == (4, 1)
    assert figures.without_block.lost == 2
    assert figures.without_block.win_rate == pytest.approx(1 / 3)
    assert figures.without_block.mttc_days == pytest.approx(40.0)
    assert figures.win_rate_delta == pytest.approx(0.75 - 1 / 3)
    assert figures.mttc_delta == pytest.approx(22.0 - 40.0)
    assert figures.small_sample


def test_effectiveness_of_an_unused_block_is_empty_and_flagged_small(erin, frank):
    figures = selectors.block_effectiveness(block=make_block(erin, publish_by=frank), user=erin)
    assert figures.uses == 0
    assert figures.with_block.win_rate is None and figures.without_block.mttc_days is None
    assert figures.small_sample


def test_effectiveness_is_not_small_with_ten_closed_deals_on_each_side(erin, frank, team):
    process, (discovery, demo, proposal, won, lost) = factories.make_process()
    block = make_block(erin, publish_by=frank)
    for used in (True, False):
        for _ in range(10):
            opportunity = factories.OpportunityFactory(stage=discovery, team=team)
            if used:
                services.block_usage_record(block=block, opportunity=opportunity, actor=None)
            opportunity_move_to_stage(opportunity=opportunity, to_stage=won, actor=None)
    figures = selectors.block_effectiveness(block=block, user=erin)
    assert (figures.with_block.closed, figures.without_block.closed) == (10, 10)
    assert not figures.small_sample


# --- discovery -----------------------------------------------------------------------------------


def test_discovery_panel_lists_the_use_cases_catalog_and_what_was_recorded(deal, alice):
    services.catalog_load()
    deal.account.business_context = "Customers complain: the cause of downtime stays unknown."
    deal.account.save()
    panel = selectors.discovery_panel(opportunity=deal)
    assert {item.challenge.use_case for item in panel.challenges} == {"observability"}
    assert panel.challenges[0].challenge.slug == "downtime-unknown-cause"
    assert panel.challenges[0].from_context
    assert not panel.recorded
    first = panel.challenges[0].links[0]
    services.discovery_links_add(
        opportunity=deal,
        actor=alice,
        pairs=[(first.challenge_id, first.need_id)],
        direction="top_down",
    )
    recorded = selectors.discovery_panel(opportunity=deal).recorded
    assert [(link.challenge_id, link.need_id, link.recorded_direction) for link in recorded] == [
        (first.challenge_id, first.need_id, "top_down")
    ]
    assert DiscoveryLink.objects.get().priority == DiscoveryLink.Priority.MEDIUM


def test_discovery_refuses_pairs_outside_the_catalog(deal, alice):
    from epos.lib.errors import InvalidInput

    services.catalog_load()
    from building_blocks.models import BusinessChallenge, TechnicalNeed

    challenge = BusinessChallenge.objects.get(slug="downtime-unknown-cause")
    unrelated = TechnicalNeed.objects.get(slug="cloud-posture-management")
    with pytest.raises(InvalidInput):
        services.discovery_links_add(
            opportunity=deal,
            actor=alice,
            pairs=[(challenge.pk, unrelated.pk)],
            direction="top_down",
        )
    assert not DiscoveryLink.objects.exists()


# --- training ------------------------------------------------------------------------------------


def test_managers_see_their_teams_completion(carol, alice, bob, dave, erin, frank):
    from building_blocks.models import TrainingPath

    path = TrainingPath.objects.create(name="Onboarding", slug="onboarding", role="sa")
    steps = [
        path.steps.create(position=n, block=make_block(erin, publish_by=frank, title=f"Step {n}"))
        for n in (1, 2, 3)
    ]
    for step in steps[:2]:
        services.training_step_set_done(step=step, actor=alice)
    services.training_step_set_done(step=steps[0], actor=dave)
    paths, members = selectors.team_training(user=carol)
    assert [p.slug for p in paths] == ["onboarding"]
    progress = {member.user.username: member.per_path[path.pk] for member in members}
    assert progress == {"alice": (2, 3), "bob": (0, 3)}  # dave is in another team
    assert not BlockUsage.objects.exists()


def test_effectiveness_counts_only_the_deals_the_viewer_may_see(erin, frank, alice, dave, team):
    process, (discovery, demo, proposal, won, lost) = factories.make_process()
    block = make_block(erin, publish_by=frank)
    for owner_team in (team, None):
        opportunity = factories.OpportunityFactory(stage=discovery, team=owner_team)
        services.block_usage_record(block=block, opportunity=opportunity, actor=None)
        opportunity_move_to_stage(opportunity=opportunity, to_stage=won, actor=None)

    everyone = selectors.block_effectiveness(block=block, user=erin)
    teammate = selectors.block_effectiveness(block=block, user=alice)
    outsider = selectors.block_effectiveness(block=block, user=dave)

    assert (everyone.uses, everyone.with_block.won) == (2, 2)
    assert (teammate.uses, teammate.with_block.won) == (1, 1)
    assert (outsider.uses, outsider.with_block.won) == (0, 0)
