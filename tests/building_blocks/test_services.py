from datetime import timedelta

import pytest
from django.utils import timezone

from building_blocks import services
from building_blocks.models import BlockEvent, BlockUsage, BlockVersion, BuildingBlock, Tag
from epos.lib.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from epos.models import OutboxMessage
from tests import factories
from tests.building_blocks.helpers import PDF, make_block, upload

pytestmark = pytest.mark.django_db

PUBLISHED = "building_block.published"


def codes(block):
    return list(block.events.order_by("at", "pk").values_list("code", flat=True))


def test_create_makes_a_draft_owned_by_its_author_with_version_1(erin):
    block = services.block_create(
        actor=erin,
        title=" Discovery guide ",
        kind="discovery_guide",
        body="# Ask why",
        stages=["discovery"],
        use_cases=["observability"],
        industries=["Banking"],
        products=["Kestrel APM"],
    )
    assert (block.status, block.owner, block.version, block.title) == (
        "draft",
        erin,
        1,
        "Discovery guide",
    )
    assert sorted(block.tags.values_list("kind", "slug")) == [
        ("industry", "banking"),
        ("product", "kestrel-apm"),
        ("stage", "discovery"),
        ("use_case", "observability"),
    ]
    version = block.versions.get()
    assert (version.number, version.title, version.body, version.status) == (
        1,
        "Discovery guide",
        "# Ask why",
        "draft",
    )
    assert codes(block) == ["block.created"]


@pytest.mark.parametrize("persona", ["alice", "carol", "nobody"])
def test_only_curators_create_blocks(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(Forbidden):
        services.block_create(actor=user, title="Mine", kind="other", body="x")
    assert not BuildingBlock.objects.exists()


def test_a_block_needs_some_content(erin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="needs content"):
        services.block_create(actor=erin, title="Empty", kind="other", body="  ")
    assert not BuildingBlock.objects.exists()


def test_publish_flow_needs_a_second_curator_and_announces_the_block(erin, frank):
    block = make_block(erin, title="Flow")
    block = services.block_submit(block=block, actor=erin)
    assert block.status == "in_review"

    with pytest.raises(Forbidden, match="other than the author"):
        services.block_approve(block=block, actor=erin)
    block.refresh_from_db()
    assert block.status == "in_review" and block.published_at is None
    assert not OutboxMessage.objects.filter(topic=PUBLISHED).exists()

    block = services.block_approve(block=block, actor=frank, comment="Looks good")
    assert block.status == "published" and block.reviewer == frank
    assert block.review_due == timezone.localdate() + timedelta(days=180)
    message = OutboxMessage.objects.get(topic=PUBLISHED)
    assert message.payload["block_id"] == block.pk
    assert message.payload["reviewer_id"] == frank.pk
    assert codes(block) == ["block.created", "block.submitted", "block.published"]
    assert block.events.get(code="block.published").comment == "Looks good"


def test_an_sa_cannot_approve_even_someone_elses_block(erin, alice):
    block = services.block_submit(block=make_block(erin), actor=erin)
    with pytest.raises(Forbidden):
        services.block_approve(block=block, actor=alice)
    assert BuildingBlock.objects.get().status == "in_review"


def test_send_back_needs_a_comment_and_returns_a_draft(erin, frank):
    block = services.block_submit(block=make_block(erin), actor=erin)
    with pytest.raises(InvalidInput, match="comment"):
        services.block_send_back(block=block, actor=frank, comment="  ")
    assert BuildingBlock.objects.get().status == "in_review"
    block = services.block_send_back(block=block, actor=frank, comment="Add the KPIs")
    assert block.status == "draft"
    event = block.events.get(code="block.sent_back")
    assert (event.actor, event.comment, event.data) == (
        frank,
        "Add the KPIs",
        {"from": "in_review", "to": "draft"},
    )


@pytest.mark.parametrize(
    ("service", "from_status"),
    [
        (services.block_submit, "published"),
        (services.block_approve, "draft"),
        (services.block_unarchive, "published"),
        (services.block_mark_reviewed, "draft"),
    ],
)
def test_lifecycle_steps_refuse_the_wrong_starting_state(erin, frank, service, from_status):
    block = make_block(erin, publish_by=frank if from_status == "published" else None)
    before = BlockEvent.objects.count()
    with pytest.raises(Conflict):
        service(block=block, actor=frank)
    assert BuildingBlock.objects.get().status == from_status
    assert BlockEvent.objects.count() == before


def test_archive_hides_and_unarchive_brings_back_a_draft(erin, frank, published):
    archived = services.block_archive(block=published, actor=frank, comment="Outdated")
    assert archived.status == "archived"
    again = services.block_unarchive(block=archived, actor=erin)
    assert again.status == "draft"
    assert codes(again)[-2:] == ["block.archived", "block.unarchived"]


def test_every_save_keeps_a_version_and_unchanged_saves_keep_none(erin, stages):
    block = make_block(erin, title="V1", body="one")
    block = services.block_update(block=block, actor=erin, body="two", note="Second take")
    block = services.block_update(block=block, actor=erin, stages=["demo"])
    same = services.block_update(block=block, actor=erin, body="two", stages=["demo"])
    assert same.version == block.version == 3
    versions = list(BlockVersion.objects.order_by("number").values_list("number", "body", "note"))
    assert versions == [
        (1, "one", "Created"),
        (2, "two", "Second take"),
        (3, "two", "Changed tags"),
    ]
    # The tag takes its name from the stage of that slug.
    assert BlockVersion.objects.get(number=3).tags == [
        {"kind": "stage", "slug": "demo", "name": stages[1].name}
    ]


def test_a_stale_edit_is_refused(erin):
    block = make_block(erin)
    services.block_update(block=block, actor=erin, body="someone else's edit")
    with pytest.raises(StaleVersion):
        services.block_update(block=block, actor=erin, expected_version=1, body="mine")
    assert BuildingBlock.objects.get().body == "someone else's edit"


def test_restore_brings_back_old_content_as_a_new_version(erin, stages):
    block = make_block(erin, title="Old title", body="old body", stages=["discovery"])
    services.block_update(
        block=block, actor=erin, title="New title", body="new body", stages=["demo"]
    )
    restored = services.block_restore_version(block=block, number=1, actor=erin)
    assert (restored.version, restored.title, restored.body) == (3, "Old title", "old body")
    assert list(restored.tags.values_list("slug", flat=True)) == ["discovery"]
    assert BlockVersion.objects.get(block=block, number=3).note == "Restored version 1"
    assert BlockVersion.objects.get(block=block, number=2).title == "New title"
    with pytest.raises(Conflict):
        services.block_restore_version(block=block, number=3, actor=erin)


def test_restore_brings_back_the_old_file(erin):
    block = make_block(erin, title="With file", file=upload("one.pdf", PDF))
    first_path = block.file.name
    services.block_update(block=block, actor=erin, file=upload("two.pdf", PDF + b"2"))
    restored = services.block_restore_version(block=block, number=1, actor=erin)
    assert restored.file.name == first_path and restored.file_name == "one.pdf"


def test_tags_are_shared_rows_keyed_on_kind_and_slug(erin):
    make_block(erin, title="A", industries=["Banking"])
    make_block(erin, title="B", industries=["banking"])
    assert Tag.objects.filter(kind="industry").count() == 1


def test_unknown_use_cases_are_refused(erin):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_block(erin, use_cases=["astrology"])


def test_delete_only_removes_blocks_never_published(erin, frank, published):
    draft = make_block(erin, title="Scratch")
    services.block_delete(block=draft, actor=erin)
    with pytest.raises(Conflict, match="archive it instead"):
        services.block_delete(block=published, actor=erin)
    assert list(BuildingBlock.objects.values_list("title", flat=True)) == [published.title]


# --- usage on deals ------------------------------------------------------------------------------


def test_the_owner_records_a_use_at_the_current_stage_once(alice, opportunity, published):
    first = services.block_usage_record(block=published, opportunity=opportunity, actor=alice)
    second = services.block_usage_record(block=published, opportunity=opportunity, actor=alice)
    assert first.pk == second.pk
    assert (first.stage, first.user) == (opportunity.stage, alice)
    assert BlockUsage.objects.count() == 1
    assert published.events.filter(code="block.used").count() == 1


def test_an_outsider_cannot_record_a_use(dave, opportunity, published):
    with pytest.raises(Forbidden):
        services.block_usage_record(block=published, opportunity=opportunity, actor=dave)
    assert not BlockUsage.objects.exists()


def test_a_draft_cannot_be_used_in_a_deal(alice, opportunity, draft):
    with pytest.raises(Conflict):
        services.block_usage_record(block=draft, opportunity=opportunity, actor=alice)
    assert not BlockUsage.objects.exists()


def test_a_use_at_a_stage_the_deal_never_reached_is_refused(alice, opportunity, published, stages):
    with pytest.raises(InvalidInput):
        services.block_usage_record(
            block=published, opportunity=opportunity, actor=alice, stage=stages[2]
        )
    assert not BlockUsage.objects.exists()


# --- review reminders ----------------------------------------------------------------------------


def test_review_reminders_go_to_owners_of_overdue_published_blocks(erin, frank, mailoutbox):
    overdue = make_block(erin, publish_by=frank, title="Stale FAQ")
    fresh = make_block(erin, publish_by=frank, title="Fresh guide")
    draft = make_block(frank, title="Overdue but a draft")
    today = timezone.localdate()
    BuildingBlock.objects.filter(pk__in=[overdue.pk, draft.pk]).update(
        review_due=today - timedelta(days=1)
    )
    BuildingBlock.objects.filter(pk=fresh.pk).update(review_due=today)
    assert services.review_due_remind(today=today) == {"erin": 1}
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["erin@example.com"]
    assert "Stale FAQ" in mailoutbox[0].body
    assert "Fresh guide" not in mailoutbox[0].body


def test_the_weekly_task_calls_the_reminder_service(erin, frank, mailoutbox):
    from building_blocks.tasks import review_due_reminders

    block = make_block(erin, publish_by=frank)
    BuildingBlock.objects.filter(pk=block.pk).update(
        review_due=timezone.localdate() - timedelta(days=7)
    )
    assert review_due_reminders.apply().get() == {"erin": 1}
    assert len(mailoutbox) == 1


def test_mark_reviewed_moves_the_next_review_out(erin, frank, published):
    BuildingBlock.objects.filter(pk=published.pk).update(review_due=timezone.localdate())
    block = services.block_mark_reviewed(block=published, actor=frank)
    assert block.review_due == timezone.localdate() + timedelta(days=180)
    assert block.status == "published"


# --- training ------------------------------------------------------------------------------------


def test_training_steps_are_marked_done_per_user(alice, bob, erin, frank):
    from building_blocks.models import TrainingPath

    path = TrainingPath.objects.create(name="Onboarding", slug="onboarding", role="sa")
    step = path.steps.create(position=1, block=make_block(erin, publish_by=frank))
    services.training_step_set_done(step=step, actor=alice)
    services.training_step_set_done(step=step, actor=alice)
    assert list(step.completions.values_list("user__username", flat=True)) == ["alice"]
    services.training_step_set_done(step=step, actor=alice, done=False)
    assert not step.completions.exists()


def test_factories_stay_usable(db):
    # A guard for the helpers above: the shared factories still build a deal.
    assert factories.OpportunityFactory().stage.process_id
