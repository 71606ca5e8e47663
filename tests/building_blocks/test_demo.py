import io
import random

import pytest
from django.core.management import call_command

from building_blocks.demo.apply import seed
from building_blocks.models import (
    BlockUsage,
    BlockVersion,
    BuildingBlock,
    ChallengeNeedLink,
    TrainingPath,
)
from opportunities.models import StageTransition
from opportunities.services import opportunity_move_to_stage
from stages.models import Process
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_world(db):
    """What seed_demo has written before it calls us: processes, people, deals."""
    call_command("load_processes", verbosity=0)
    process = Process.objects.get(slug="epos-presales", status="active")
    stages = list(process.stages.order_by("position"))
    open_stages = [stage for stage in stages if stage.kind == "open"]
    won = next(stage for stage in stages if stage.kind == "won")
    factories.UserFactory(username="curator1", role="curator")
    factories.UserFactory(username="admin", role="admin")
    sas = [factories.UserFactory(username=f"sa{n}", role="sa") for n in (1, 2, 3)]
    factories.UserFactory(username="manager1", role="manager")
    for index in range(24):
        deal = factories.OpportunityFactory(
            stage=open_stages[0], owner=sas[index % 3], use_case="observability"
        )
        for stage in open_stages[1 : 1 + index % len(open_stages)]:
            opportunity_move_to_stage(
                opportunity=deal, to_stage=stage, actor=None, override_reason="demo"
            )
        if index % 2:
            opportunity_move_to_stage(
                opportunity=deal, to_stage=won, actor=None, override_reason="demo"
            )
    return process


def test_seed_writes_the_library_catalog_uses_and_training(demo_world):
    out = io.StringIO()
    summary = seed(rng=random.Random(7), stdout=out)
    assert 38 <= summary["blocks"] <= 45
    statuses = set(BuildingBlock.objects.values_list("status", flat=True))
    assert statuses == {"draft", "in_review", "published", "archived"}
    assert BlockVersion.objects.count() > BuildingBlock.objects.count()
    kinds = set(BuildingBlock.objects.values_list("kind", flat=True))
    assert len(kinds) >= 10
    for use_case in ("observability", "security"):
        assert ChallengeNeedLink.objects.filter(use_case=use_case).count() >= 10
    assert summary["usages"] == BlockUsage.objects.count() > 0
    # Every use sits at a stage its deal really visited, on a published block.
    for usage in BlockUsage.objects.select_related("block"):
        assert usage.block.status == "published"
        assert StageTransition.objects.filter(
            opportunity_id=usage.opportunity_id, to_stage_id=usage.stage_id
        ).exists()
    assert TrainingPath.objects.count() == 4
    assert BuildingBlock.objects.filter(status="published", review_due__isnull=True).count() == 0
    assert "building blocks:" in out.getvalue()


def test_with_one_curator_an_admin_reviews_their_blocks(demo_world):
    seed(rng=random.Random(7))
    published = BuildingBlock.objects.filter(published_at__isnull=False)
    assert published.exists()
    assert set(published.values_list("owner__username", "reviewer__username")) == {
        ("curator1", "admin")
    }


def test_two_curators_write_in_turn_and_review_each_other(demo_world):
    factories.UserFactory(username="curator2", role="curator")

    seed(rng=random.Random(7))

    blocks = BuildingBlock.objects.order_by("pk")
    owners = list(blocks.values_list("owner__username", flat=True))
    assert owners == ["curator1", "curator2"] * (len(owners) // 2) + ["curator1"] * (
        len(owners) % 2
    )
    pairs = set(
        blocks.filter(published_at__isnull=False).values_list(
            "owner__username", "reviewer__username"
        )
    )
    assert pairs == {("curator1", "curator2"), ("curator2", "curator1")}
    # Each finds one of the other's blocks waiting for them.
    waiting = set(blocks.filter(status="in_review").values_list("owner__username", flat=True))
    assert waiting == {"curator1", "curator2"}


def test_seed_is_a_no_op_once_blocks_exist(demo_world):
    seed(rng=random.Random(7))
    counts = (BuildingBlock.objects.count(), BlockUsage.objects.count())
    out = io.StringIO()
    assert seed(rng=random.Random(8), stdout=out) is None
    assert (BuildingBlock.objects.count(), BlockUsage.objects.count()) == counts
    assert "already exist" in out.getvalue()


def test_load_catalog_is_idempotent(db):
    out = io.StringIO()
    call_command("load_catalog", stdout=out)
    call_command("load_catalog", stdout=out)
    assert ChallengeNeedLink.objects.filter(use_case="observability").count() >= 10
    assert ChallengeNeedLink.objects.filter(use_case="security").count() >= 10
    assert ChallengeNeedLink.objects.filter(
        challenge__slug="downtime-unknown-cause", need__slug="distributed-tracing"
    ).exists()
    assert ChallengeNeedLink.objects.filter(
        challenge__slug="limited-visibility-blind-spots", need__slug="siem-coverage"
    ).exists()
    first, second = out.getvalue().split("catalog.challenge:")[1:]
    assert "0 created" not in first
    assert second.startswith(" 0 created")
