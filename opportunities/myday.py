"""My day: what an SA's own open deals ask of them today, read in a fixed number of queries.

- Deals past their stage's target: the time-in-stage rule of the dashboards and the workload
  page (`measures.past_target_q`), applied to each deal's current visit.
- Required items still open: the required checklist items of each deal's current stage that
  are not done, which is what the gate of its next move forward will ask for.
- Next meetings: activities still to come on the SA's deals (calendar syncs bring them in
  ahead of time), of the kinds that have a time in someone's calendar.

Other apps add sections of their own (`register_section`): the building blocks' review queue
for curators. The home page loads it all as a fragment after the board
(opportunities.views.myday), so the board's own queries and first paint stay as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce

from epos.lib.roles import SA, has_role
from opportunities.measures import DaysBetween, past_target_q
from opportunities.models import Activity, ChecklistCompletion, Opportunity
from opportunities.selectors import activity_list, opportunity_list, required_done_count
from stages.models import Stage, StageItem

MEETING_KINDS = (
    Activity.Kind.MEETING,
    Activity.Kind.DEMO,
    Activity.Kind.WORKSHOP,
    Activity.Kind.CALL,
)
NEXT_MEETINGS = 8
SHOWN = 8  # deals listed per section; the summary line counts them all


@dataclass(frozen=True)
class Section:
    """A part of My day another app adds (the building blocks' review queue), registered in
    its AppConfig.ready so that this module imports none of them.

    `read(user=, now=)` returns what `template` renders, or None when the section has nothing
    for this user; `summary(data)` is its few words on the collapsed line ("2 blocks to
    review"). Each `read` costs a fixed number of queries.
    """

    key: str
    template: str
    read: Callable[..., Any]
    summary: Callable[[Any], str]


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    _SECTIONS[section.key] = section


@dataclass(frozen=True)
class SectionPart:
    """A registered section as one user's My day shows it."""

    template: str
    data: Any
    summary: str


@dataclass
class DealItems:
    """A deal with the required items of its current stage that are not done yet."""

    opportunity: Opportunity
    items: list[StageItem]


@dataclass
class MyDay:
    shows_deals: bool = False  # the user owns deals (an SA): the deal sections apply
    past_target: list[Opportunity] = field(default_factory=list)  # with `days_in_stage`
    open_items: list[DealItems] = field(default_factory=list)
    past_target_total: int = 0
    open_item_deals: int = 0  # deals with required items open, of which `open_items` shows some
    open_item_count: int = 0  # their required items open, in all
    meetings: list[Activity] = field(default_factory=list)
    sections: list[SectionPart] = field(default_factory=list)

    @property
    def past_target_more(self) -> int:
        return self.past_target_total - len(self.past_target)

    @property
    def open_items_more(self) -> int:
        return self.open_item_deals - len(self.open_items)

    @property
    def is_empty(self) -> bool:
        return not self.shows_deals and not self.sections


def _my_open_deals(user) -> QuerySet[Opportunity]:
    return (
        opportunity_list(user=user)
        .filter(owner_id=user.pk, outcome=Opportunity.Outcome.OPEN)
        .select_related(None)
        .select_related("account", "stage")
    )


def my_day(*, user, now: datetime, limit: int = SHOWN) -> MyDay:
    """The user's day; each list holds its first `limit` entries and knows its total.

    The deal sections, for an SA, read at most seven queries after the user's teams (what they
    may see), however many deals they own; each registered section adds its own fixed number.
    """
    day = MyDay()
    if has_role(user, SA):
        day.shows_deals = True
        mine = _my_open_deals(user)
        stages = _stages_of(mine)
        day.past_target, day.past_target_total = _past_target(mine, stages, now, limit)
        day.open_items, day.open_item_deals, day.open_item_count = _open_required_items(
            mine, stages, limit
        )
        day.meetings = next_meetings(user=user, now=now)
    for section in _SECTIONS.values():
        data = section.read(user=user, now=now)
        if data is not None:
            day.sections.append(SectionPart(section.template, data, section.summary(data)))
    return day


def _stages_of(deals: QuerySet[Opportunity]) -> list[Stage]:
    """The stages these deals are in, each with `required_count` (its required items): two
    queries, as a subquery would have PostgreSQL walk every deal of every stage to find the
    few an SA owns."""
    stage_ids = sorted(set(deals.order_by().values_list("stage_id", flat=True).distinct()))
    if not stage_ids:
        return []
    required = (
        StageItem.objects.filter(stage_id=OuterRef("pk"), required=True)
        .order_by()
        .values("stage_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        Stage.objects.filter(pk__in=stage_ids).annotate(
            required_count=Coalesce(Subquery(required, output_field=IntegerField()), 0)
        )
    )


def _per_stage(values: dict[int, int]) -> Case:
    """A number per stage of the deal, written as literals (a handful of stages)."""
    return Case(
        *(When(stage_id=pk, then=Value(value)) for pk, value in values.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


def _past_target(mine: QuerySet[Opportunity], stages: list[Stage], now, limit: int):
    """The deals whose current visit is past its stage's target, longest first, and how many
    there are (one query; none when no stage has a target)."""
    late = past_target_q(stages, now, stage_field="stage_id", entered_field="stage_entered_at")
    if late is None:
        return [], 0
    deals = list(
        mine.filter(late)
        .annotate(
            days_in_stage=DaysBetween(
                Value(now, output_field=DateTimeField()), F("stage_entered_at")
            ),
            total=Window(Count("pk")),
        )
        .order_by("stage_entered_at", "pk")[:limit]
    )
    return deals, (deals[0].total if deals else 0)


def _open_required_items(mine: QuerySet[Opportunity], stages: list[Stage], limit: int):
    """The deals whose current stage has required items not done, in stage order, with those
    items; and how many deals and items there are in all (three queries, one with no such
    deal). The count is the board card's: the stage's required items less those done."""
    required = {stage.pk: stage.required_count for stage in stages if stage.required_count}
    if not required:
        return [], 0, 0
    owing = (
        mine.filter(stage_id__in=sorted(required))
        .annotate(open_required=_per_stage(required) - required_done_count())
        .filter(open_required__gt=0)
    )
    deals = list(
        owing.annotate(
            deal_total=Window(Count("pk")), item_total=Window(Sum("open_required"))
        ).order_by("stage__position", "stage_entered_at", "pk")[:limit]
    )
    if not deals:
        return [], 0, 0
    items_by_stage: dict[int, list[StageItem]] = {}
    for item in StageItem.objects.filter(
        stage_id__in=sorted({deal.stage_id for deal in deals}), required=True
    ).order_by("stage_id", "position", "pk"):
        items_by_stage.setdefault(item.stage_id, []).append(item)
    ticked = set(
        ChecklistCompletion.objects.filter(
            opportunity_id__in=[deal.pk for deal in deals], item__required=True, done=True
        ).values_list("opportunity_id", "item_id")
    )
    entries = [
        DealItems(
            opportunity=deal,
            items=[
                item
                for item in items_by_stage.get(deal.stage_id, [])
                if (deal.pk, item.pk) not in ticked
            ],
        )
        for deal in deals
    ]
    return entries, deals[0].deal_total, deals[0].item_total


def next_meetings(*, user, now: datetime, limit: int = NEXT_MEETINGS) -> list[Activity]:
    """The next activities booked on the user's open deals, soonest first."""
    return list(
        activity_list(user=user)
        .filter(
            opportunity__owner_id=user.pk,
            opportunity__outcome=Opportunity.Outcome.OPEN,
            kind__in=MEETING_KINDS,
            occurred_at__gt=now,
        )
        .select_related(None)
        .select_related("opportunity__account")
        .order_by("occurred_at", "pk")[:limit]
    )
