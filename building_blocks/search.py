"""What the top bar's search (epos.search) finds in the building-block library: the library's
own search (full text with prefixes on PostgreSQL, ranked) over the blocks the user may read
(`selectors.block_list`: published ones, every state for curators), in one query; two letters
match where a word of the title starts, as in the other groups."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from building_blocks.models import BuildingBlock
from building_blocks.selectors import block_list, block_search_queryset
from epos.search import (
    WORD_START_BELOW,
    SearchGroup,
    SearchHit,
    register_search_group,
    text_matches,
)


def blocks_matching(*, user, text: str, limit: int) -> list[SearchHit]:
    if len(text) < WORD_START_BELOW:
        # As a full-text prefix ("se:*": search, service, session...) two letters match most of
        # the library and rank all of it (20 ms on the bench's 10,000 blocks): titles only.
        blocks = block_list(user=user).filter(text_matches("title", text)).order_by("title", "pk")
    else:
        blocks = block_search_queryset(user=user, data={"q": text})
    rows = blocks.select_related(None).only("title", "kind", "status")[:limit]
    return [
        SearchHit(
            title=block.title,
            url=reverse("building_blocks:block-detail", args=[block.pk]),
            detail=block.get_kind_display(),
            badge=""
            if block.status == BuildingBlock.Status.PUBLISHED
            else block.get_status_display(),
        )
        for block in rows
    ]


def _library_url(text: str) -> str:
    return reverse("building_blocks:block-list") + "?" + urlencode({"q": text})


def register() -> None:
    register_search_group(
        SearchGroup(
            key="blocks",
            label="Building blocks",
            position=40,
            find=blocks_matching,
            see_all=_library_url,
        )
    )
