"""Every write to building blocks, the catalog and training paths: one transaction each.

Lifecycle: draft → in_review → published → archived. Curators write; a curator other than the
author approves; each step checks the role, acts and appends a BlockEvent. Every content save
keeps a BlockVersion and, on PostgreSQL, refreshes the block's search vector in the same
transaction (deliberately here and not in a signal: bulk paths call `search_vectors_refresh`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from building_blocks import permissions
from building_blocks.filters import SEARCH_CONFIG
from building_blocks.models import (
    BlockEvent,
    BlockUsage,
    BlockVersion,
    BuildingBlock,
    BusinessChallenge,
    ChallengeNeedLink,
    DiscoveryLink,
    Tag,
    TechnicalNeed,
    TrainingCompletion,
    TrainingStep,
)
from building_blocks.uploads import check_upload
from epos.builtin import (
    Shipped,
    SyncReport,
    builtin_mark_applied,
    builtin_sync,
    builtin_updates_available,
)
from epos.lib.errors import Conflict, Forbidden, InvalidInput, StaleVersion
from epos.outbox import outbox_publish
from opportunities import permissions as opportunity_permissions
from opportunities.models import Opportunity, StageTransition
from opportunities.services import evidence_publish
from stages.models import Stage

SEARCH_VECTOR = (
    SearchVector("title", weight="A", config=SEARCH_CONFIG)
    + SearchVector("summary", weight="B", config=SEARCH_CONFIG)
    + SearchVector("body", weight="C", config=SEARCH_CONFIG)
)
REVIEW_INTERVAL = timedelta(days=180)
CONTENT_FIELDS = ("title", "kind", "summary", "body", "external_url")
TAG_ARGUMENTS = {
    "stages": Tag.Kind.STAGE,
    "use_cases": Tag.Kind.USE_CASE,
    "industries": Tag.Kind.INDUSTRY,
    "products": Tag.Kind.PRODUCT,
}
Status = BuildingBlock.Status


# --- helpers ------------------------------------------------------------------------------------


def _require_curator(actor) -> None:
    if actor is not None and not permissions.can_curate(actor):
        raise Forbidden("Only curators may change building blocks.")


def _log(block: BuildingBlock, code: str, actor, comment: str = "", **data) -> BlockEvent:
    return BlockEvent.objects.create(
        block=block, code=code, actor=actor, at=timezone.now(), comment=comment, data=data
    )


def search_vectors_refresh(block_ids: Iterable[int] | None = None) -> int:
    """Recompute the weighted search vectors (PostgreSQL only); None means every block."""
    if connection.vendor != "postgresql":
        return 0
    blocks = BuildingBlock.objects.all()
    if block_ids is not None:
        blocks = blocks.filter(pk__in=list(block_ids))
    return blocks.update(search_vector=SEARCH_VECTOR)


def _stage_names(slugs: Iterable[str]) -> dict[str, str]:
    return dict(
        Stage.objects.filter(slug__in=list(slugs))
        .order_by("slug", "-process__version")
        .values_list("slug", "name")
    )


def tags_resolve(*, stages=(), use_cases=(), industries=(), products=()) -> list[Tag]:
    """The Tag rows for the given slugs or names, creating the missing ones."""
    wanted: dict[tuple[str, str], str] = {}
    stage_names = _stage_names(slugify(value) for value in stages)
    use_case_labels = dict(Opportunity.UseCase.choices)
    for argument, values in (
        ("stages", stages),
        ("use_cases", use_cases),
        ("industries", industries),
        ("products", products),
    ):
        kind = TAG_ARGUMENTS[argument]
        for value in values:
            value = str(value).strip()
            slug = slugify(value)
            if not slug:
                continue
            if kind == Tag.Kind.USE_CASE:
                slug = value if value in use_case_labels else slug.replace("-", "_")
                if slug not in use_case_labels:
                    raise ValidationError({"use_cases": f"Unknown use case {value!r}."})
                name = use_case_labels[slug]
            elif kind == Tag.Kind.STAGE:
                name = stage_names.get(slug) or value.replace("-", " ").capitalize()
            else:
                name = value if value != slug else value.replace("-", " ").title()
            if len(slug) > TAG_SLUG_MAX or len(name) > TAG_NAME_MAX:
                raise ValidationError(
                    {argument: f"{value[:40]}… is too long for a tag (at most {TAG_SLUG_MAX} "
                     "characters)."}
                )  # fmt: skip
            wanted.setdefault((kind, slug), name)
    if not wanted:
        return []
    query = Q()
    for kind, slug in wanted:
        query |= Q(kind=kind, slug=slug)
    existing = {(tag.kind, tag.slug): tag for tag in Tag.objects.filter(query)}
    missing = [
        Tag(kind=kind, slug=slug, name=name)
        for (kind, slug), name in wanted.items()
        if (kind, slug) not in existing
    ]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {(tag.kind, tag.slug): tag for tag in Tag.objects.filter(query)}
    return [existing[key] for key in wanted]


TAG_SLUG_MAX = Tag._meta.get_field("slug").max_length
TAG_NAME_MAX = Tag._meta.get_field("name").max_length


def _snapshot(block: BuildingBlock, actor, note: str) -> BlockVersion:
    tags = sorted(
        ({"kind": tag.kind, "slug": tag.slug, "name": tag.name} for tag in block.tags.all()),
        key=lambda tag: (tag["kind"], tag["slug"]),
    )
    return BlockVersion.objects.create(
        block=block,
        number=block.version,
        title=block.title,
        kind=block.kind,
        summary=block.summary,
        body=block.body,
        external_url=block.external_url,
        file=block.file.name or "",
        file_name=block.file_name,
        file_type=block.file_type,
        file_size=block.file_size,
        tags=tags,
        needs=sorted(block.needs.values_list("slug", flat=True)),
        status=block.status,
        note=note[:300],
        created_at=timezone.now(),
        created_by=actor,
    )


def _attach_file(block: BuildingBlock, upload) -> None:
    try:
        checked = check_upload(upload)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from error
    block.file.save(checked.name, upload, save=False)
    block.file_name = checked.name
    block.file_type = checked.file_type
    block.file_size = checked.size


def _clear_file(block: BuildingBlock) -> None:
    # The stored file stays on disk: earlier versions still point at it.
    block.file = ""
    block.file_name, block.file_type, block.file_size = "", "", None


def _tag_keys(tags: Iterable[Tag]) -> set[tuple[str, str]]:
    return {(tag.kind, tag.slug) for tag in tags}


# --- blocks -------------------------------------------------------------------------------------


def block_create(
    *,
    actor,
    title: str,
    kind: str,
    summary: str = "",
    body: str = "",
    external_url: str = "",
    file=None,
    review_due: date | None = None,
    stages: Iterable[str] = (),
    use_cases: Iterable[str] = (),
    industries: Iterable[str] = (),
    products: Iterable[str] = (),
    needs: Iterable[TechnicalNeed] = (),
    owner=None,
) -> BuildingBlock:
    """A new draft owned by its author (or `owner`), saved as version 1."""
    _require_curator(actor)
    with transaction.atomic():
        block = BuildingBlock(
            title=title.strip(),
            kind=kind,
            summary=summary.strip(),
            body=body,
            external_url=external_url.strip(),
            review_due=review_due,
            owner=owner or actor,
            status=Status.DRAFT,
            version=1,
        )
        if file is not None:
            _attach_file(block, file)
        block.full_clean(exclude=["search_vector"])
        block.save()
        block.tags.set(
            tags_resolve(
                stages=stages, use_cases=use_cases, industries=industries, products=products
            )
        )
        block.needs.set(list(needs))
        _snapshot(block, actor, "Created")
        search_vectors_refresh([block.pk])
        _log(block, "block.created", actor, version=1)
    return block


def block_update(
    *,
    block: BuildingBlock,
    actor,
    expected_version: int | None = None,
    note: str = "",
    file=None,
    remove_file: bool = False,
    stages: Iterable[str] | None = None,
    use_cases: Iterable[str] | None = None,
    industries: Iterable[str] | None = None,
    products: Iterable[str] | None = None,
    needs: Iterable[TechnicalNeed] | None = None,
    review_due: date | None | str = "unchanged",
    **changes,
) -> BuildingBlock:
    """Save new content as the next version. Tag arguments left at None stay as they are.

    Editing a published block keeps it published: curators own the library, and every save is
    versioned and logged, so a bad edit is one restore away.
    """
    unknown = set(changes) - set(CONTENT_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    _require_curator(actor)
    with transaction.atomic():
        locked = BuildingBlock.objects.select_for_update().get(pk=block.pk)
        if expected_version is not None and expected_version != locked.version:
            raise StaleVersion(locked.version)
        changed = []
        for field, value in changes.items():
            value = value.strip() if isinstance(value, str) and field != "body" else value
            if getattr(locked, field) != value:
                setattr(locked, field, value)
                changed.append(field)
        if review_due != "unchanged" and review_due != locked.review_due:
            locked.review_due = review_due
            changed.append("review_due")
        if file is not None:
            _attach_file(locked, file)
            changed.append("file")
        elif remove_file and locked.file:
            _clear_file(locked)
            changed.append("file")
        new_tags = None
        if any(values is not None for values in (stages, use_cases, industries, products)):
            current = list(locked.tags.all())
            keep = {
                kind: [tag.slug for tag in current if tag.kind == kind]
                for kind in TAG_ARGUMENTS.values()
            }
            new_tags = tags_resolve(
                stages=keep[Tag.Kind.STAGE] if stages is None else stages,
                use_cases=keep[Tag.Kind.USE_CASE] if use_cases is None else use_cases,
                industries=keep[Tag.Kind.INDUSTRY] if industries is None else industries,
                products=keep[Tag.Kind.PRODUCT] if products is None else products,
            )
            if _tag_keys(new_tags) != _tag_keys(current):
                changed.append("tags")
            else:
                new_tags = None
        new_needs = None
        if needs is not None:
            new_needs = list(needs)
            if {need.pk for need in new_needs} != set(locked.needs.values_list("pk", flat=True)):
                changed.append("needs")
            else:
                new_needs = None
        if not changed:
            return locked
        return _save_version(
            locked, actor, changed=changed, note=note, tags=new_tags, needs=new_needs
        )


def _save_version(block, actor, *, changed, note, tags=None, needs=None, code="block.edited"):
    block.version += 1
    block.full_clean(exclude=["search_vector"])
    block.save()
    if tags is not None:
        block.tags.set(tags)
    if needs is not None:
        block.needs.set(needs)
    _snapshot(block, actor, note or f"Changed {', '.join(changed)}")
    search_vectors_refresh([block.pk])
    _log(block, code, actor, comment=note, version=block.version, changed=changed)
    return block


def block_restore_version(*, block: BuildingBlock, number: int, actor) -> BuildingBlock:
    """Bring back the content of version `number` as a new version; history is never rewritten."""
    _require_curator(actor)
    with transaction.atomic():
        locked = BuildingBlock.objects.select_for_update().get(pk=block.pk)
        version = BlockVersion.objects.filter(block=locked, number=number).first()
        if version is None:
            raise InvalidInput(f"This block has no version {number}.")
        if number == locked.version:
            raise Conflict(f"Version {number} is the current version.")
        for field in CONTENT_FIELDS:
            setattr(locked, field, getattr(version, field))
        locked.file = version.file
        locked.file_name, locked.file_type = version.file_name, version.file_type
        locked.file_size = version.file_size
        tags = tags_resolve(
            **{
                argument: [tag["slug"] for tag in version.tags if tag["kind"] == kind]
                for argument, kind in TAG_ARGUMENTS.items()
            }
        )
        needs = list(TechnicalNeed.objects.filter(slug__in=version.needs))
        return _save_version(
            locked,
            actor,
            changed=["restore"],
            note=f"Restored version {number}",
            tags=tags,
            needs=needs,
            code="block.restored",
        )


def _transition(block, actor, *, allowed_from, to_status, code, comment="", **updates):
    with transaction.atomic():
        locked = BuildingBlock.objects.select_for_update().get(pk=block.pk)
        if locked.status not in allowed_from:
            raise Conflict(
                f"A block that is {locked.get_status_display().lower()} cannot be "
                f"{code.split('.')[-1].replace('_', ' ')}."
            )
        previous = locked.status
        locked.status = to_status
        for field, value in updates.items():
            setattr(locked, field, value)
        locked.save(update_fields=["status", "updated_at", *updates])
        _log(locked, code, actor, comment=comment, **{"from": previous, "to": to_status})
    return locked


def block_submit(*, block: BuildingBlock, actor) -> BuildingBlock:
    _require_curator(actor)
    return _transition(
        block,
        actor,
        allowed_from={Status.DRAFT},
        to_status=Status.IN_REVIEW,
        code="block.submitted",
    )


def block_approve(*, block: BuildingBlock, actor, comment: str = "") -> BuildingBlock:
    """Publish a block in review; the reviewer must be a curator other than its author."""
    _require_curator(actor)
    if actor is not None and not permissions.can_review_block(actor, block):
        raise Forbidden("A curator other than the author approves a block.")
    now = timezone.now()
    today = timezone.localdate()
    review_due = block.review_due if block.review_due and block.review_due > today else None
    with transaction.atomic():
        published = _transition(
            block,
            actor,
            allowed_from={Status.IN_REVIEW},
            to_status=Status.PUBLISHED,
            code="block.published",
            comment=comment.strip(),
            reviewer=actor,
            published_at=now,
            review_due=review_due or today + REVIEW_INTERVAL,
        )
        outbox_publish(
            topic="building_block.published",
            payload={
                "block_id": published.pk,
                "title": published.title,
                "kind": published.kind,
                "version": published.version,
                "owner_id": published.owner_id,
                "reviewer_id": published.reviewer_id,
                "published_at": now.isoformat(),
            },
        )
    return published


def block_send_back(*, block: BuildingBlock, actor, comment: str) -> BuildingBlock:
    _require_curator(actor)
    if actor is not None and not permissions.can_review_block(actor, block):
        raise Forbidden("A curator other than the author reviews a block.")
    comment = comment.strip()
    if not comment:
        raise InvalidInput("Say what the author should change (comment).")
    return _transition(
        block,
        actor,
        allowed_from={Status.IN_REVIEW},
        to_status=Status.DRAFT,
        code="block.sent_back",
        comment=comment,
    )


def block_archive(*, block: BuildingBlock, actor, comment: str = "") -> BuildingBlock:
    _require_curator(actor)
    return _transition(
        block,
        actor,
        allowed_from={Status.DRAFT, Status.IN_REVIEW, Status.PUBLISHED},
        to_status=Status.ARCHIVED,
        code="block.archived",
        comment=comment.strip(),
    )


def block_unarchive(*, block: BuildingBlock, actor) -> BuildingBlock:
    """An archived block comes back as a draft and goes through review again."""
    _require_curator(actor)
    return _transition(
        block,
        actor,
        allowed_from={Status.ARCHIVED},
        to_status=Status.DRAFT,
        code="block.unarchived",
    )


def block_mark_reviewed(*, block: BuildingBlock, actor, comment: str = "") -> BuildingBlock:
    """A curator confirms a published block is still right: the next review moves out."""
    _require_curator(actor)
    due = timezone.localdate() + REVIEW_INTERVAL
    return _transition(
        block,
        actor,
        allowed_from={Status.PUBLISHED},
        to_status=Status.PUBLISHED,
        code="block.reviewed",
        comment=comment.strip(),
        review_due=due,
    )


def block_delete(*, block: BuildingBlock, actor) -> None:
    """Only a block that was never published nor used disappears; the others are archived."""
    _require_curator(actor)
    with transaction.atomic():
        locked = BuildingBlock.objects.select_for_update().get(pk=block.pk)
        if locked.published_at is not None or locked.usages.exists():
            raise Conflict("This block was published or used in deals; archive it instead.")
        if TrainingStep.objects.filter(block=locked).exists():
            raise Conflict("This block is a step of a training path; remove it there first.")
        locked.delete()


# --- usage on deals -----------------------------------------------------------------------------


def block_usage_record(
    *,
    block: BuildingBlock,
    opportunity: Opportunity,
    actor,
    stage: Stage | None = None,
    at=None,
) -> BlockUsage:
    """Record that a published block was used on a deal (at its current stage by default).

    Recording the same block at the same stage twice returns the first record.
    """
    if actor is not None:
        if not opportunity_permissions.can_edit_opportunity(actor, opportunity):
            raise Forbidden("You may not change this opportunity.")
    if block.status != Status.PUBLISHED:
        raise Conflict("Only a published block can be used in a deal.")
    if stage is None:
        stage = opportunity.stage
    elif (
        stage.pk != opportunity.stage_id
        and not StageTransition.objects.filter(opportunity=opportunity, to_stage=stage).exists()
    ):
        raise InvalidInput("The opportunity has never been in that stage.")
    with transaction.atomic():
        usage, created = BlockUsage.objects.get_or_create(
            block=block,
            opportunity=opportunity,
            stage=stage,
            defaults={"user": actor, "at": at or timezone.now()},
        )
        if created:
            _log(block, "block.used", actor, opportunity_id=opportunity.pk, stage_id=stage.pk)
            evidence_publish(
                "building_block.used",
                opportunity,
                stage_id=stage.pk,
                block_id=block.pk,
                block_kind=block.kind,
            )
    return usage


# --- discovery on deals -------------------------------------------------------------------------


def _check_can_edit_deal(actor, opportunity) -> None:
    if actor is not None and not opportunity_permissions.can_edit_opportunity(actor, opportunity):
        raise Forbidden("You may not change this opportunity.")


def discovery_links_add(
    *,
    opportunity: Opportunity,
    actor,
    pairs: Iterable[tuple[int, int]],
    direction: str,
    priority: int = DiscoveryLink.Priority.MEDIUM,
    impact_note: str = "",
) -> list[DiscoveryLink]:
    """Record challenge → need pairs taken from the catalog; pairs already recorded are kept."""
    _check_can_edit_deal(actor, opportunity)
    if direction not in DiscoveryLink.Direction.values:
        raise InvalidInput(f"Unknown direction {direction!r}.")
    pairs = {(int(challenge), int(need)) for challenge, need in pairs}
    if not pairs:
        raise InvalidInput("Pick at least one need (top-down) or challenge (bottom-up).")
    query = Q()
    for challenge_id, need_id in pairs:
        query |= Q(challenge_id=challenge_id, need_id=need_id)
    known = set(ChallengeNeedLink.objects.filter(query).values_list("challenge_id", "need_id"))
    if known != pairs:
        raise InvalidInput("Some of these pairs are not in the discovery catalog.")
    with transaction.atomic():
        existing = set(
            DiscoveryLink.objects.filter(opportunity=opportunity).values_list(
                "challenge_id", "need_id"
            )
        )
        links = [
            DiscoveryLink(
                opportunity=opportunity,
                challenge_id=challenge_id,
                need_id=need_id,
                direction=direction,
                priority=priority,
                impact_note=impact_note.strip()[:500],
                created_by=actor,
            )
            for challenge_id, need_id in sorted(pairs - existing)
        ]
        DiscoveryLink.objects.bulk_create(links)
        if links:
            evidence_publish(
                "discovery.recorded", opportunity, direction=direction, count=len(links)
            )
    return links


def discovery_link_update(
    *, link: DiscoveryLink, actor, priority: int | None = None, impact_note: str | None = None
) -> DiscoveryLink:
    _check_can_edit_deal(actor, link.opportunity)
    if priority is not None:
        link.priority = int(priority)
    if impact_note is not None:
        link.impact_note = impact_note.strip()
    link.full_clean()
    link.save(update_fields=["priority", "impact_note"])
    return link


def discovery_link_remove(*, link: DiscoveryLink, actor) -> None:
    _check_can_edit_deal(actor, link.opportunity)
    link.delete()


# --- the catalog --------------------------------------------------------------------------------


CATALOG_CHALLENGE, CATALOG_NEED, CATALOG_LINK = "catalog.challenge", "catalog.need", "catalog.link"


def _shipped_catalog(catalog) -> dict[str, list[Shipped]]:
    """The shipped catalog as ledger entries, with everything an entry is made of."""
    challenges = {item["slug"]: item for item in catalog["challenges"]}
    return {
        CATALOG_CHALLENGE: [
            Shipped(
                key=item["slug"],
                content={
                    "title": item["title"],
                    "use_case": item["use_case"],
                    "description": item.get("description", ""),
                    "keywords": item.get("keywords", ""),
                    "position": position,
                },
            )
            for position, item in enumerate(catalog["challenges"])
        ],
        CATALOG_NEED: [
            Shipped(
                key=item["slug"],
                content={
                    "title": item["title"],
                    "use_case": item["use_case"],
                    "area": item.get("area", ""),
                    "description": item.get("description", ""),
                    "position": position,
                },
            )
            for position, item in enumerate(catalog["needs"])
        ],
        CATALOG_LINK: [
            Shipped(
                key=f"{item['challenge']}->{item['need']}",
                content={
                    "challenge": item["challenge"],
                    "need": item["need"],
                    "use_case": challenges[item["challenge"]]["use_case"],
                    "narrative": item["narrative"],
                    "kpis": "\n".join(item.get("kpis", ())),
                    "position": position,
                },
            )
            for position, item in enumerate(catalog["links"])
        ],
    }


def _link_key_parts(key: str) -> tuple[str, str]:
    challenge, need = key.split("->", 1)
    return challenge, need


def _existing_link_keys(keys: list[str]) -> set[str]:
    pairs = ChallengeNeedLink.objects.values_list("challenge__slug", "need__slug")
    return {f"{challenge}->{need}" for challenge, need in pairs} & set(keys)


def _create_catalog_entry(source: str, entry: Shipped) -> bool:
    if source == CATALOG_CHALLENGE:
        BusinessChallenge.objects.create(slug=entry.key, **entry.content)
    elif source == CATALOG_NEED:
        TechnicalNeed.objects.create(slug=entry.key, **entry.content)
    else:
        values = dict(entry.content)
        challenge = BusinessChallenge.objects.filter(slug=values.pop("challenge")).first()
        need = TechnicalNeed.objects.filter(slug=values.pop("need")).first()
        if challenge is None or need is None:
            return False  # one end was deleted by a curator: the link has nothing to join
        ChallengeNeedLink.objects.create(challenge=challenge, need=need, **values)
    return True


def catalog_load(*, catalog=None) -> dict[str, SyncReport]:
    """Load the shipped discovery catalog without undoing curators' work (see epos.builtin):
    missing entries are created once; edited ones are kept; deleted ones stay deleted; a newer
    shipped version is offered on the catalog's manage page."""
    from building_blocks.demo.catalog import CATALOG

    shipped = _shipped_catalog(catalog or CATALOG)
    existing = {
        CATALOG_CHALLENGE: lambda keys: BusinessChallenge.objects.filter(slug__in=keys).values_list(
            "slug", flat=True
        ),
        CATALOG_NEED: lambda keys: TechnicalNeed.objects.filter(slug__in=keys).values_list(
            "slug", flat=True
        ),
        CATALOG_LINK: _existing_link_keys,
    }
    with transaction.atomic():
        return {
            source: builtin_sync(
                source=source,
                shipped=entries,
                existing_keys=existing[source],
                create=lambda entry, source=source: _create_catalog_entry(source, entry),
            )
            for source, entries in shipped.items()
        }


def catalog_builtin_updates(*, catalog=None) -> list[dict]:
    """Entries whose shipped version changed since it was loaded: what a curator may apply."""
    from building_blocks.demo.catalog import CATALOG

    shipped = _shipped_catalog(catalog or CATALOG)
    waiting = builtin_updates_available(*shipped)
    updates = []
    for source, entries in shipped.items():
        for entry in entries:
            if (source, entry.key) in waiting:
                title = entry.content.get("title") or entry.key.replace("->", " → ")
                updates.append({"source": source, "key": entry.key, "title": title})
    return updates


def catalog_builtin_apply(*, actor, source: str, key: str, catalog=None) -> None:
    """Overwrite one catalog entry with its newer shipped version: a curator's decision."""
    from building_blocks.demo.catalog import CATALOG

    if not permissions.can_curate(actor):
        raise Forbidden("Only curators may apply catalog updates.")
    shipped = _shipped_catalog(catalog or CATALOG)
    entry = next((item for item in shipped.get(source, ()) if item.key == key), None)
    if entry is None or (source, key) not in builtin_updates_available(source):
        raise Conflict("There is no newer built-in version of this entry to apply.")
    with transaction.atomic():
        values = dict(entry.content)
        if source == CATALOG_LINK:
            values.pop("challenge"), values.pop("need")
            challenge_slug, need_slug = _link_key_parts(key)
            updated = ChallengeNeedLink.objects.filter(
                challenge__slug=challenge_slug, need__slug=need_slug
            ).update(**values)
        else:
            model = BusinessChallenge if source == CATALOG_CHALLENGE else TechnicalNeed
            updated = model.objects.filter(slug=key).update(**values)
        if not updated:
            raise Conflict("This entry was deleted meanwhile; there is nothing to update.")
        builtin_mark_applied(source=source, key=key, digest=entry.digest)


# --- training -----------------------------------------------------------------------------------


def training_step_set_done(*, step: TrainingStep, actor, done: bool = True):
    """Mark a step of a training path done (or not) for the actor themselves."""
    if actor is None or not actor.is_authenticated:
        raise Forbidden("Log in to track your training.")
    with transaction.atomic():
        if done:
            completion, _ = TrainingCompletion.objects.get_or_create(
                step=step, user=actor, defaults={"completed_at": timezone.now()}
            )
            return completion
        TrainingCompletion.objects.filter(step=step, user=actor).delete()
    return None


# --- review reminders ---------------------------------------------------------------------------


def review_due_remind(*, today: date | None = None) -> dict[str, int]:
    """Mail every owner the list of their published blocks whose review date has passed.

    Returns {username: number of blocks} for the owners written to.
    """
    from building_blocks.selectors import blocks_review_due

    today = today or timezone.localdate()
    by_owner: dict[int, list[BuildingBlock]] = {}
    owners = {}
    for block in blocks_review_due(today=today):
        if block.owner_id is None:
            continue
        by_owner.setdefault(block.owner_id, []).append(block)
        owners[block.owner_id] = block.owner
    sent = {}
    for owner_id, blocks in by_owner.items():
        owner = owners[owner_id]
        if not owner.email:
            continue
        lines = [
            f"- {block.title} (review was due {block.review_due:%d %b %Y})" for block in blocks
        ]
        send_mail(
            subject=f"EPOS: {len(blocks)} building block(s) due for review",
            message=(
                f"Hello {owner.get_full_name() or owner.username},\n\n"
                "These building blocks you own are past their review date. Open each one, check "
                'it is still right, then edit it or press "Still accurate":\n\n'
                + "\n".join(lines)
                + "\n"
            ),
            from_email=None,
            recipient_list=[owner.email],
        )
        sent[owner.username] = len(blocks)
    return sent
