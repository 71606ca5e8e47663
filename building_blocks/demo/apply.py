"""Demo data for the building-block repository, called by `seed_demo` after the deals exist.

    building_blocks.demo.apply.seed(rng=random.Random(42), stdout=self.stdout)

Loads the discovery catalog, writes about forty blocks through the real services (so each has
its versions, review log and outbox event), then adds uses on the demo deals, discovery links,
and training paths with progress. Does nothing when blocks already exist.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from building_blocks import services
from building_blocks.demo.library import (
    ARCHIVED,
    BLOCKS,
    DRAFTS,
    EDITS,
    IN_REVIEW,
    REVIEW_OVERDUE,
    TRAINING_PATHS,
)
from building_blocks.models import (
    BlockEvent,
    BlockUsage,
    BlockVersion,
    BuildingBlock,
    ChallengeNeedLink,
    DiscoveryLink,
    TechnicalNeed,
    TrainingCompletion,
    TrainingPath,
    TrainingStep,
)
from epos.lib.roles import ADMIN, CURATOR
from opportunities.models import Opportunity, StageTransition

BASE_USE_RATE = 0.1
HISTORY_DAYS = 560


def _say(stdout, text: str) -> None:
    if stdout is not None:
        stdout.write(text)


def _people() -> tuple[list, dict]:
    """The curators who write the blocks, and who reviews each one's: the next curator (the
    last one's, the first's), so each has work in the other's queue; with a single curator,
    an admin reviews."""
    users = get_user_model().objects
    authors = list(users.filter(groups__name=CURATOR).order_by("username"))
    if len(authors) > 1:
        return authors, {a.pk: authors[(i + 1) % len(authors)] for i, a in enumerate(authors)}
    others = users.filter(groups__name=ADMIN) | users.filter(is_superuser=True)
    if authors:
        others = others.exclude(pk=authors[0].pk)
    reviewer = others.order_by("username").first()
    if not authors or reviewer is None:
        return [], {}
    return authors, {authors[0].pk: reviewer}


def _first_draft(spec: dict, field: str) -> str:
    """An earlier, rougher text for a field, so the edits leave a readable history."""
    text = spec[field]
    if field == "summary":
        return text.split(":")[0].split(".")[0].strip() + "."
    sections = text.strip().split("\n\n")
    return "\n\n".join(sections[:-1]) + "\n" if len(sections) > 1 else text.strip() + "\n"


def _write_blocks(rng, authors, reviewers, needs, now) -> dict[str, BuildingBlock]:
    """Each block by one of the curators in turn, reviewed by its author's reviewer."""
    blocks = {}
    for index, spec in enumerate(BLOCKS):
        curator = authors[index % len(authors)]
        reviewer = reviewers[curator.pk]
        edits = EDITS.get(spec["title"], [])
        initial = {field: _first_draft(spec, field) for field, _ in edits}
        block = services.block_create(
            actor=curator,
            title=spec["title"],
            kind=spec["kind"],
            summary=initial.get("summary", spec["summary"]),
            body=initial.get("body", spec["body"]),
            external_url=spec["external_url"],
            stages=spec["stages"],
            use_cases=spec["use_cases"],
            industries=spec["industries"],
            products=spec["products"],
            needs=[needs[slug] for slug in spec["needs"]],
        )
        for field, note in edits:
            block = services.block_update(
                block=block, actor=curator, note=note, **{field: spec[field]}
            )
        title = spec["title"]
        if title not in DRAFTS:
            block = services.block_submit(block=block, actor=curator)
            if title not in IN_REVIEW:
                block = services.block_approve(block=block, actor=reviewer)
                if title in ARCHIVED:
                    block = services.block_archive(
                        block=block, actor=reviewer, comment="Replaced by the investor page."
                    )
        _backdate(block, rng, now)
        blocks[title] = block
    return blocks


def _backdate(block: BuildingBlock, rng: random.Random, now) -> None:
    """Spread the block's history over the demo period instead of "a few seconds ago"."""
    start = now - timedelta(days=rng.randint(HISTORY_DAYS, HISTORY_DAYS + 40))
    moments = {}
    for step, version in enumerate(block.versions.order_by("number")):
        moments[version.number] = start + timedelta(days=3 * step, hours=rng.randint(0, 8))
        BlockVersion.objects.filter(pk=version.pk).update(created_at=moments[version.number])
    last_edit = max(moments.values())
    for step, event in enumerate(block.events.order_by("at", "pk")):
        BlockEvent.objects.filter(pk=event.pk).update(at=start + timedelta(days=2 * step))
    published_at = last_edit + timedelta(days=4) if block.published_at else None
    today = timezone.localdate()
    review_due = block.review_due
    if block.status == BuildingBlock.Status.PUBLISHED:
        if block.title in REVIEW_OVERDUE:
            review_due = today - timedelta(days=rng.randint(3, 60))
        else:
            review_due = today + timedelta(days=rng.randint(20, 170))
    BuildingBlock.objects.filter(pk=block.pk).update(
        created_at=start,
        updated_at=published_at or last_edit,
        published_at=published_at,
        review_due=review_due,
    )


def _record_usages(rng, blocks: dict[str, BuildingBlock], now) -> int:
    """Uses on demo deals at stages they visited; better blocks lean towards won deals."""
    specs = {spec["title"]: spec for spec in BLOCKS}
    visits = defaultdict(list)  # stage slug -> [(opportunity, stage, moved_at)]
    transitions = StageTransition.objects.select_related("opportunity", "to_stage").order_by(
        "opportunity_id", "moved_at", "pk"
    )
    seen = set()
    for transition in transitions:
        key = (transition.opportunity_id, transition.to_stage_id)
        if key in seen or transition.to_stage.kind != "open":
            continue
        seen.add(key)
        visits[transition.to_stage.slug].append(
            (transition.opportunity, transition.to_stage, transition.moved_at)
        )
    usages, events = [], []
    used = set()
    for title, block in blocks.items():
        if block.status != BuildingBlock.Status.PUBLISHED:
            continue
        lift = specs[title]["lift"]
        for slug in specs[title]["stages"]:
            for opportunity, stage, moved_at in visits.get(slug, ()):
                won = opportunity.outcome == Opportunity.Outcome.WON
                chance = BASE_USE_RATE * (1 + 3 * lift if won else max(0.2, 1 - 1.5 * lift))
                if rng.random() >= chance or (block.pk, opportunity.pk) in used:
                    continue
                used.add((block.pk, opportunity.pk))
                at = min(now, moved_at + timedelta(hours=rng.randint(2, 96)))
                usages.append(
                    BlockUsage(
                        block=block,
                        opportunity=opportunity,
                        stage=stage,
                        user_id=opportunity.owner_id,
                        at=at,
                    )
                )
                events.append(
                    BlockEvent(
                        block=block,
                        code="block.used",
                        actor_id=opportunity.owner_id,
                        at=at,
                        data={"opportunity_id": opportunity.pk, "stage_id": stage.pk},
                    )
                )
    BlockUsage.objects.bulk_create(usages, batch_size=500)
    BlockEvent.objects.bulk_create(events, batch_size=500)
    return len(usages)


def _discovery(rng) -> int:
    """Two or three challenge → need pairs on about half the observability and security deals."""
    links_by_use_case = defaultdict(list)
    for link in ChallengeNeedLink.objects.select_related("challenge"):
        links_by_use_case[link.use_case].append(link)
    deals = Opportunity.objects.filter(use_case__in=["observability", "security"]).select_related(
        "account"
    )
    rows = []
    for deal in deals.order_by("pk"):
        if rng.random() < 0.5:
            continue
        catalog = links_by_use_case[deal.use_case]
        context = (deal.account.business_context if deal.account else "").lower()
        heard = [
            link for link in catalog if any(word in context for word in link.challenge.keyword_list)
        ] or catalog
        challenge = rng.choice(heard).challenge
        candidates = [link for link in catalog if link.challenge_id == challenge.pk]
        direction = "bottom_up" if deal.approach == "bottom_up" else "top_down"
        for link in rng.sample(candidates, min(len(candidates), rng.randint(2, 3))):
            rows.append(
                DiscoveryLink(
                    opportunity=deal,
                    challenge_id=link.challenge_id,
                    need_id=link.need_id,
                    direction=direction,
                    priority=rng.choice((1, 1, 2, 2, 3)),
                    created_by_id=deal.owner_id,
                )
            )
    DiscoveryLink.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def _training(rng, blocks: dict[str, BuildingBlock], now) -> tuple[int, int]:
    users = get_user_model().objects
    steps_by_role = defaultdict(list)
    for position, spec in enumerate(TRAINING_PATHS):
        path = TrainingPath.objects.create(
            slug=spec["slug"],
            name=spec["name"],
            role=spec["role"],
            description=spec["description"],
            position=position,
        )
        for index, title in enumerate(spec["steps"], start=1):
            step = TrainingStep.objects.create(path=path, position=index, block=blocks[title])
            steps_by_role[spec["role"]].append((path.pk, step))
    completions = []
    for role in ("sa", "manager", "curator"):
        for user in users.filter(groups__name=role).order_by("username"):
            by_path = defaultdict(list)
            for path_id, step in steps_by_role[role]:
                by_path[path_id].append(step)
            for steps in by_path.values():
                done = rng.randint(0, len(steps))
                for offset, step in enumerate(steps[:done]):
                    completions.append(
                        TrainingCompletion(
                            step=step,
                            user=user,
                            completed_at=now - timedelta(days=rng.randint(5, 200), hours=offset),
                        )
                    )
    TrainingCompletion.objects.bulk_create(completions, batch_size=500)
    return len(TRAINING_PATHS), len(completions)


def seed(*, rng: random.Random, stdout=None) -> dict | None:
    """Write the demo library; a no-op (returns None) when building blocks already exist."""
    if BuildingBlock.objects.exists():
        _say(stdout, "Building blocks already exist; demo blocks not loaded.")
        return None
    authors, reviewers = _people()
    if not authors:
        _say(stdout, "No curator and second reviewer found; demo blocks not loaded.")
        return None
    now = timezone.now()
    with transaction.atomic():
        services.catalog_load()
        needs = {need.slug: need for need in TechnicalNeed.objects.all()}
        blocks = _write_blocks(rng, authors, reviewers, needs, now)
        usages = _record_usages(rng, blocks, now)
        discovery = _discovery(rng)
        paths, completions = _training(rng, blocks, now)
    summary = {
        "blocks": len(blocks),
        "published": sum(1 for b in blocks.values() if b.status == "published"),
        "versions": BlockVersion.objects.count(),
        "usages": usages,
        "catalog_links": ChallengeNeedLink.objects.count(),
        "discovery_links": discovery,
        "training_paths": paths,
        "training_completions": completions,
    }
    _say(
        stdout,
        f"  building blocks: {summary['blocks']} ({summary['published']} published, "
        f"{summary['versions']} versions, {usages} uses); "
        f"catalog: {summary['catalog_links']} links; "
        f"discovery links: {discovery}; training: {paths} paths, {completions} steps done",
    )
    return summary
