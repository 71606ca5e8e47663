"""Curators' writes to the discovery catalog and to the training paths: one transaction each.

Each service checks the role, validates (`full_clean`), acts and records a dotted activity code
(`catalog.challenge_created`, `training.step_added`; labels in `templatetags/blocks.py`).
BlockEvent is the app's only stored log and it belongs to a block, so a code is stored there
when a block is concerned (a step added to or removed from a path shows on the block's
timeline); every code also goes to the `building_blocks.activity` logger once committed.

Nothing here loses what deals recorded: a challenge, need or link that discovery on a deal
points at is refused deletion (DiscoveryLink protects its challenge and need, and a recorded
pair missing from the catalog would vanish from the deal's discovery panel).
"""

from __future__ import annotations

import logging
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone
from django.utils.text import slugify

from building_blocks import permissions
from building_blocks.models import (
    BlockEvent,
    BuildingBlock,
    BusinessChallenge,
    ChallengeNeedLink,
    DiscoveryLink,
    TechnicalNeed,
    TrainingCompletion,
    TrainingPath,
    TrainingStep,
)
from epos.lib.errors import Conflict, Forbidden

logger = logging.getLogger("building_blocks.activity")

CODES = (
    "catalog.challenge_created",
    "catalog.challenge_edited",
    "catalog.challenge_deleted",
    "catalog.need_created",
    "catalog.need_edited",
    "catalog.need_deleted",
    "catalog.link_created",
    "catalog.link_edited",
    "catalog.link_deleted",
    "training.path_created",
    "training.path_edited",
    "training.step_added",
    "training.step_edited",
    "training.step_moved",
    "training.step_removed",
)


# --- helpers ------------------------------------------------------------------------------------


def _require_curator(actor, what: str) -> None:
    # actor None: the system (management commands, data loads), as in services.py.
    if actor is not None and not permissions.can_curate(actor):
        raise Forbidden(f"Only curators may change {what}.")


def _record(code: str, actor, *, block: BuildingBlock | None = None, **data) -> None:
    assert code in CODES, code  # noqa: S101 - a programming error, caught by the tests
    if block is not None:
        BlockEvent.objects.create(block=block, code=code, actor=actor, at=timezone.now(), data=data)
    who = getattr(actor, "username", None) or "system"
    transaction.on_commit(lambda: logger.info("%s by %s %s", code, who, data))


def _slug(slug: str, title: str) -> str:
    slug = (slug or "").strip() or slugify(title)[:80].strip("-")
    if not slug:
        raise ValidationError({"slug": "The title has no letters or digits to make a slug from."})
    return slug


def _save(instance, noun: str) -> None:
    """Validate and save. A slug already taken is a field error that names the slug, since it
    may have been made from the title without the curator typing it."""
    taken = f"The slug “{instance.slug}” is taken by another {noun}; type another one."
    if type(instance).objects.filter(slug=instance.slug).exclude(pk=instance.pk).exists():
        raise ValidationError({"slug": taken})
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:  # taken meanwhile by a concurrent save
        raise ValidationError({"slug": taken}) from error


def _next_position(queryset) -> int:
    return (queryset.aggregate(top=Max("position"))["top"] or 0) + 1


def _clean_kpis(kpis: str) -> str:
    return "\n".join(line.strip() for line in (kpis or "").splitlines() if line.strip())


def _deal_count(**pair) -> int:
    return (
        DiscoveryLink.objects.filter(**pair).values("opportunity_id").distinct().order_by().count()
    )


def _plural(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _keep_while_recorded(entry, **pair) -> None:
    """Refuse to delete a catalog entry that a deal's discovery records (409)."""
    deals = _deal_count(**pair)
    if deals:
        raise Conflict(
            f"{_plural(deals, 'deal')} recorded “{entry.title}” in discovery; it stays in "
            "the catalog so their discovery is kept. Edit it instead."
        )


# --- business challenges ------------------------------------------------------------------------


def challenge_create(
    *, actor, title: str, use_case: str, slug: str = "", description: str = "", keywords: str = ""
) -> BusinessChallenge:
    """A new challenge, placed after the others of its use case."""
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        challenge = BusinessChallenge(
            title=title.strip(),
            slug=_slug(slug, title),
            use_case=use_case,
            description=description.strip(),
            keywords=keywords.strip(),
            position=_next_position(BusinessChallenge.objects.filter(use_case=use_case)),
        )
        _save(challenge, "business challenge")
        _record("catalog.challenge_created", actor, challenge_id=challenge.pk, slug=challenge.slug)
    return challenge


def challenge_update(
    *,
    challenge: BusinessChallenge,
    actor,
    title: str,
    use_case: str,
    slug: str = "",
    description: str = "",
    keywords: str = "",
) -> BusinessChallenge:
    """Edit a challenge. Links that shared its use case follow it to a new one."""
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        locked = BusinessChallenge.objects.select_for_update().get(pk=challenge.pk)
        previous_use_case = locked.use_case
        locked.title = title.strip()
        locked.slug = _slug(slug, title)
        locked.use_case = use_case
        locked.description = description.strip()
        locked.keywords = keywords.strip()
        _save(locked, "business challenge")
        if use_case != previous_use_case:
            locked.need_links.filter(use_case=previous_use_case).update(use_case=use_case)
        _record("catalog.challenge_edited", actor, challenge_id=locked.pk, slug=locked.slug)
    return locked


def challenge_delete(*, challenge: BusinessChallenge, actor) -> int:
    """Delete a challenge and its catalog links; refused while a deal's discovery records it.

    Returns the number of catalog links deleted with it.
    """
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        locked = BusinessChallenge.objects.select_for_update().get(pk=challenge.pk)
        _keep_while_recorded(locked, challenge=locked)
        links = locked.need_links.count()
        try:
            locked.delete()
        except ProtectedError as error:  # a deal recorded it meanwhile
            raise Conflict("A deal has just recorded this challenge; it stays.") from error
        _record(
            "catalog.challenge_deleted",
            actor,
            challenge_id=challenge.pk,
            slug=locked.slug,
            links=links,
        )
    return links


# --- technical needs ----------------------------------------------------------------------------


def need_create(
    *, actor, title: str, use_case: str, slug: str = "", area: str = "", description: str = ""
) -> TechnicalNeed:
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        need = TechnicalNeed(
            title=title.strip(),
            slug=_slug(slug, title),
            use_case=use_case,
            area=area.strip(),
            description=description.strip(),
            position=_next_position(TechnicalNeed.objects.filter(use_case=use_case)),
        )
        _save(need, "technical need")
        _record("catalog.need_created", actor, need_id=need.pk, slug=need.slug)
    return need


def need_update(
    *,
    need: TechnicalNeed,
    actor,
    title: str,
    use_case: str,
    slug: str = "",
    area: str = "",
    description: str = "",
) -> TechnicalNeed:
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        locked = TechnicalNeed.objects.select_for_update().get(pk=need.pk)
        locked.title = title.strip()
        locked.slug = _slug(slug, title)
        locked.use_case = use_case
        locked.area = area.strip()
        locked.description = description.strip()
        _save(locked, "technical need")
        _record("catalog.need_edited", actor, need_id=locked.pk, slug=locked.slug)
    return locked


def need_delete(*, need: TechnicalNeed, actor) -> int:
    """Delete a need and its catalog links; refused while a deal's discovery records it or a
    block is filed under it (untagging a block here would bypass the block's versions).

    Returns the number of catalog links deleted with it.
    """
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        locked = TechnicalNeed.objects.select_for_update().get(pk=need.pk)
        _keep_while_recorded(locked, need=locked)
        blocks = locked.blocks.count()
        if blocks:
            raise Conflict(
                f"{_plural(blocks, 'building block')} filed under “{locked.title}”; untick it on "
                "those blocks first (their edits are versioned)."
            )
        links = locked.challenge_links.count()
        try:
            locked.delete()
        except ProtectedError as error:
            raise Conflict("A deal has just recorded this need; it stays.") from error
        _record("catalog.need_deleted", actor, need_id=need.pk, slug=locked.slug, links=links)
    return links


# --- challenge → need links ---------------------------------------------------------------------


def _check_pair_is_free(challenge, need, exclude_pk=None) -> None:
    taken = ChallengeNeedLink.objects.filter(challenge=challenge, need=need)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(
            {"need": f"“{challenge.title}” is already linked to “{need.title}”; edit that link."}
        )


def catalog_link_create(
    *,
    actor,
    challenge: BusinessChallenge,
    need: TechnicalNeed,
    narrative: str,
    kpis: str = "",
    use_case: str = "",
) -> ChallengeNeedLink:
    """Link a challenge to a need it implies; the use case defaults to the challenge's."""
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        _check_pair_is_free(challenge, need)
        link = ChallengeNeedLink(
            challenge=challenge,
            need=need,
            use_case=use_case or challenge.use_case,
            narrative=narrative.strip(),
            kpis=_clean_kpis(kpis),
            position=_next_position(ChallengeNeedLink.objects.filter(challenge=challenge)),
        )
        link.full_clean()
        try:
            with transaction.atomic():
                link.save()
        except IntegrityError as error:
            raise ValidationError({"need": "This pair was linked meanwhile."}) from error
        _record(
            "catalog.link_created",
            actor,
            link_id=link.pk,
            challenge_id=challenge.pk,
            need_id=need.pk,
        )
    return link


def catalog_link_update(
    *,
    link: ChallengeNeedLink,
    actor,
    challenge: BusinessChallenge,
    need: TechnicalNeed,
    narrative: str,
    kpis: str = "",
    use_case: str = "",
) -> ChallengeNeedLink:
    """Edit a link. Its pair changes only while no deal recorded it: the deal's discovery shows
    recorded pairs through the catalog."""
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        locked = ChallengeNeedLink.objects.select_for_update().get(pk=link.pk)
        if (challenge.pk, need.pk) != (locked.challenge_id, locked.need_id):
            deals = _deal_count(challenge_id=locked.challenge_id, need_id=locked.need_id)
            if deals:
                raise Conflict(
                    f"{_plural(deals, 'deal')} recorded this pair in discovery, so its challenge "
                    "and need stay; add a new link instead."
                )
            _check_pair_is_free(challenge, need, exclude_pk=locked.pk)
        if challenge.pk != locked.challenge_id:
            locked.position = _next_position(ChallengeNeedLink.objects.filter(challenge=challenge))
        locked.challenge, locked.need = challenge, need
        locked.use_case = use_case or challenge.use_case
        locked.narrative = narrative.strip()
        locked.kpis = _clean_kpis(kpis)
        locked.full_clean()
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError as error:
            raise ValidationError({"need": "This pair was linked meanwhile."}) from error
        _record(
            "catalog.link_edited",
            actor,
            link_id=locked.pk,
            challenge_id=challenge.pk,
            need_id=need.pk,
        )
    return locked


def catalog_link_delete(*, link: ChallengeNeedLink, actor) -> None:
    _require_curator(actor, "the discovery catalog")
    with transaction.atomic():
        locked = ChallengeNeedLink.objects.select_for_update().get(pk=link.pk)
        deals = _deal_count(challenge_id=locked.challenge_id, need_id=locked.need_id)
        if deals:
            raise Conflict(
                f"{_plural(deals, 'deal')} recorded this pair in discovery; it stays in the "
                "catalog so their discovery is kept."
            )
        locked.delete()
        _record(
            "catalog.link_deleted",
            actor,
            link_id=link.pk,
            challenge_id=locked.challenge_id,
            need_id=locked.need_id,
        )


# --- training paths -----------------------------------------------------------------------------


def training_path_create(
    *, actor, name: str, role: str, slug: str = "", description: str = ""
) -> TrainingPath:
    """A new, empty path, placed after the other paths of its role."""
    _require_curator(actor, "training paths")
    with transaction.atomic():
        path = TrainingPath(
            name=name.strip(),
            slug=_slug(slug, name),
            role=role,
            description=description.strip(),
            position=_next_position(TrainingPath.objects.filter(role=role)),
        )
        _save(path, "training path")
        _record("training.path_created", actor, path_id=path.pk, slug=path.slug)
    return path


def training_path_update(
    *, path: TrainingPath, actor, name: str, role: str, slug: str = "", description: str = ""
) -> TrainingPath:
    _require_curator(actor, "training paths")
    with transaction.atomic():
        locked = TrainingPath.objects.select_for_update().get(pk=path.pk)
        locked.name = name.strip()
        locked.slug = _slug(slug, name)
        locked.role = role
        locked.description = description.strip()
        _save(locked, "training path")
        _record("training.path_edited", actor, path_id=locked.pk, slug=locked.slug)
    return locked


def _lock_path(path_id: int) -> TrainingPath:
    # Every change to a path's steps locks the path first, so two curators reordering the same
    # path take turns instead of tripping over the unique (path, position).
    return TrainingPath.objects.select_for_update().get(pk=path_id)


def _renumber(path_id: int, ordered_step_ids: list[int]) -> None:
    """Give the steps positions 1..n in this order.

    The unique (path, position) is checked row by row, so the steps first move out of the way
    (above every current and final position), then take their final places.
    """
    steps = TrainingStep.objects.filter(path_id=path_id)
    top = steps.aggregate(top=Max("position"))["top"] or 0
    steps.update(position=F("position") + max(top, len(ordered_step_ids)) + 1)
    TrainingStep.objects.bulk_update(
        [
            TrainingStep(pk=step_id, position=number)
            for number, step_id in enumerate(ordered_step_ids, start=1)
        ],
        ["position"],
    )


def _step_ids(path_id: int) -> list[int]:
    return list(
        TrainingStep.objects.filter(path_id=path_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )


def training_step_add(
    *, path: TrainingPath, actor, block: BuildingBlock, note: str = ""
) -> TrainingStep:
    """Append a published block to the path."""
    _require_curator(actor, "training paths")
    with transaction.atomic():
        locked = _lock_path(path.pk)
        block = BuildingBlock.objects.only("pk", "title", "status").get(pk=block.pk)
        if block.status != BuildingBlock.Status.PUBLISHED:
            raise ValidationError({"block": "Only a published block can be a training step."})
        if TrainingStep.objects.filter(path=locked, block=block).exists():
            raise ValidationError({"block": f"“{block.title}” is already a step of this path."})
        step = TrainingStep(
            path=locked,
            block=block,
            note=note.strip(),
            position=_next_position(TrainingStep.objects.filter(path=locked)),
        )
        step.full_clean()
        step.save()
        _record(
            "training.step_added",
            actor,
            block=block,
            path_id=locked.pk,
            path=locked.name,
            step_id=step.pk,
            position=step.position,
        )
    return step


def training_step_update(*, step: TrainingStep, actor, note: str) -> TrainingStep:
    _require_curator(actor, "training paths")
    with transaction.atomic():
        _lock_path(step.path_id)
        locked = TrainingStep.objects.get(pk=step.pk)
        locked.note = note.strip()
        locked.full_clean()
        locked.save(update_fields=["note"])
        _record("training.step_edited", actor, path_id=locked.path_id, step_id=locked.pk)
    return locked


def training_step_move(
    *, step: TrainingStep, actor, direction: Literal["up", "down"]
) -> TrainingStep:
    """Swap the step with its neighbour; positions stay 1..n. The first step moving up (or the
    last moving down) stays where it is."""
    _require_curator(actor, "training paths")
    if direction not in ("up", "down"):
        raise ValidationError(f"Unknown direction {direction!r}: up or down.")
    with transaction.atomic():
        _lock_path(step.path_id)
        ordered = _step_ids(step.path_id)
        index = ordered.index(step.pk)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
            _renumber(step.path_id, ordered)
            _record(
                "training.step_moved",
                actor,
                path_id=step.path_id,
                step_id=step.pk,
                position=other + 1,
            )
        return TrainingStep.objects.get(pk=step.pk)


def training_step_remove(*, step: TrainingStep, actor, delete_completions: bool = False) -> int:
    """Remove a step and close the gap. People who marked it done lose that completion, so it
    takes an explicit `delete_completions=True` when there are any.

    Returns the number of completions deleted.
    """
    _require_curator(actor, "training paths")
    with transaction.atomic():
        path = _lock_path(step.path_id)
        locked = TrainingStep.objects.select_related("block").get(pk=step.pk)
        completions = TrainingCompletion.objects.filter(step=locked).count()
        if completions and not delete_completions:
            raise Conflict(
                f"{_plural(completions, 'person', 'people')} marked this step done; confirm "
                "to delete their completions with it."
            )
        locked.delete()  # cascades to its completions
        _renumber(path.pk, _step_ids(path.pk))
        _record(
            "training.step_removed",
            actor,
            block=locked.block,
            path_id=path.pk,
            path=path.name,
            step_id=step.pk,
            completions_deleted=completions,
        )
    return completions
