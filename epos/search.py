"""The top bar's global search: one box over everything a user may open.

`epos` reads no domain app (ARCHITECTURE section 2), so each app contributes its own groups
(deals, accounts, contacts, building blocks) from its `AppConfig.ready()` through
`register_search_group`; each group finds its rows with the app's own visibility rules in one
query. This module cleans the text, asks every group in order and returns what they found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.db.models import Q

MIN_LENGTH = 2
# A text shorter than a trigram matches only where a word starts ("HP" finds "HP Inc" and
# "Acme HP", not "Ashpoint"): anywhere, two letters match most rows, and no trigram index can
# answer them.
WORD_START_BELOW = 3
# The field's maxlength too: a longer text is a crafted URL, answered with a 400.
MAX_LENGTH = 100
SUGGESTIONS_PER_GROUP = 5
RESULTS_PER_GROUP = 20


def text_matches(field: str, text: str, *, words: bool = True) -> Q:
    """`field` holds the text; a text shorter than WORD_START_BELOW starts the field or, with
    `words`, one of its words. (`icontains`: PostgreSQL's trigram indexes serve both.)"""
    if len(text) >= WORD_START_BELOW:
        return Q(**{f"{field}__icontains": text})
    starts = Q(**{f"{field}__istartswith": text})
    return starts | Q(**{f"{field}__icontains": f" {text}"}) if words else starts


@dataclass(frozen=True)
class SearchHit:
    """One row of a group: what to show and where it leads."""

    title: str
    url: str
    detail: str = ""  # one line under the title: the account and stage of a deal, ...
    badge: str = ""  # a state worth telling apart: "Won", "Draft", ...


class Finder(Protocol):
    def __call__(self, *, user, text: str, limit: int) -> list[SearchHit]: ...


@dataclass(frozen=True)
class SearchGroup:
    key: str
    label: str
    position: int
    # Up to `limit` hits the user may open, best first, in one query. Asked for one more
    # than it shows, so the page can tell when there are more.
    find: Finder
    # The app's own list filtered by the same text, when it has one ("See all deals").
    see_all: Callable[[str], str] | None = None


@dataclass(frozen=True)
class GroupResult:
    group: SearchGroup
    hits: list[SearchHit]
    has_more: bool
    see_all_url: str


_GROUPS: dict[str, SearchGroup] = {}


def register_search_group(group: SearchGroup) -> None:
    """Called from an app's ready(); registering the same key again replaces it (a reload)."""
    _GROUPS[group.key] = group


def search_groups() -> list[SearchGroup]:
    return sorted(_GROUPS.values(), key=lambda group: (group.position, group.key))


@dataclass(frozen=True)
class SearchText:
    text: str  # what is searched ("" when nothing is)
    problem: str = ""  # why nothing is searched, for the page
    too_long: bool = False


def clean_search_text(raw: str | None) -> SearchText:
    """Whitespace collapsed; at least MIN_LENGTH characters (one letter matches half the
    database and tells nothing), at most MAX_LENGTH. NUL bytes never get here: the middleware
    refuses them with a 400."""
    text = " ".join((raw or "").split())
    if len(text) > MAX_LENGTH:
        return SearchText("", f"Search for at most {MAX_LENGTH} characters.", too_long=True)
    if len(text) < MIN_LENGTH:
        return SearchText("", f"Type at least {MIN_LENGTH} characters." if text else "")
    return SearchText(text)


def global_search(*, user, text: str, limit: int) -> list[GroupResult]:
    """Every registered group's hits for `text`, in group order: one query per group (plus
    the user's roles and teams, read once per request). Empty groups included."""
    if not text:
        return []
    results = []
    for group in search_groups():
        hits = group.find(user=user, text=text, limit=limit + 1)
        results.append(
            GroupResult(
                group=group,
                hits=hits[:limit],
                has_more=len(hits) > limit,
                see_all_url=group.see_all(text) if group.see_all else "",
            )
        )
    return results
