"""The review queue in My day (opportunities.myday): for a curator, the blocks waiting for a
second pair of eyes, those they may approve first. Registered by BuildingBlocksConfig.ready."""

from __future__ import annotations

from dataclasses import dataclass

from building_blocks import permissions, selectors
from building_blocks.models import BuildingBlock
from opportunities.myday import Section, register_section


@dataclass
class ReviewQueue:
    to_review: list[BuildingBlock]  # in review, written by someone else: the user may approve
    own: list[BuildingBlock]  # the user's own, waiting for another curator


def review_queue_for(*, user, now=None) -> ReviewQueue | None:
    """None for anyone who does not curate; one query otherwise."""
    if not permissions.can_curate(user):
        return None
    blocks = list(selectors.review_queue(user=user).prefetch_related(None))
    return ReviewQueue(
        to_review=[block for block in blocks if permissions.can_review_block(user, block)],
        own=[block for block in blocks if not permissions.can_review_block(user, block)],
    )


def _summary(queue: ReviewQueue) -> str:
    count = len(queue.to_review)
    if not count:
        return "no block to review"
    return f"{count} block{'' if count == 1 else 's'} to review"


def register() -> None:
    register_section(
        Section(
            key="reviews",
            template="building_blocks/partials/_my_day_reviews.html",
            read=review_queue_for,
            summary=_summary,
        )
    )
