"""Every read of building blocks, the catalog and training paths the views and the API use."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.contrib.postgres.search import SearchRank
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    FloatField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from django.utils.text import slugify

from building_blocks import permissions
from building_blocks.filters import (
    FACETS,
    TAG_FILTERS,
    fallback_rank,
    filter_blocks,
    search_query,
    search_terms,
)
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
    TrainingPath,
    TrainingStep,
)
from epos.lib.roles import user_roles
from opportunities import measures
from opportunities.models import Opportunity, StageTransition
from opportunities.permissions import managed_team_ids, opportunity_visibility_q
from opportunities.selectors import _prefix_q

Status = BuildingBlock.Status
SMALL_SAMPLE = 10
PAGE_SIZE = 20
SORTS = {
    "relevance": "Relevance",
    "title": "Title",
    "newest": "Recently updated",
    "popular": "Most used",
    "review_due": "Review date",
}


# --- blocks -------------------------------------------------------------------------------------


def block_list(*, user) -> QuerySet[BuildingBlock]:
    """The blocks the user may read (SAs and managers: published ones only)."""
    # The search vector is only ever read by the database (matching, ranking): never load it.
    blocks = BuildingBlock.objects.select_related("owner").defer("search_vector")
    scope = permissions.block_visibility_q(user)
    return blocks if scope is None else blocks.filter(scope)


def block_get(*, user, pk) -> BuildingBlock | None:
    return (
        block_list(user=user)
        .select_related("reviewer")
        .prefetch_related("tags", "needs")
        .filter(pk=pk)
        .first()
    )


def _with_rank(queryset: QuerySet, text: str) -> QuerySet:
    if not search_terms(text):
        return queryset.annotate(rank=Value(0.0, output_field=FloatField()))
    if connection.vendor == "postgresql":
        return queryset.annotate(rank=SearchRank(F("search_vector"), search_query(text)))
    return queryset.annotate(rank=Cast(fallback_rank(text), FloatField()))


def order_blocks(queryset: QuerySet, *, sort: str, text: str) -> QuerySet:
    """Sort by `sort` (see SORTS); without one, by relevance when searching, else by title."""
    if sort not in SORTS:
        sort = "relevance" if search_terms(text) else "title"
    if sort == "relevance":
        if not search_terms(text):
            return queryset.order_by("title", "pk")
        return _with_rank(queryset, text).order_by("-rank", "title", "pk")
    if sort == "newest":
        return queryset.order_by("-updated_at", "-pk")
    if sort == "popular":
        uses = BlockUsage.objects.filter(block=OuterRef("pk")).values("block")
        return queryset.annotate(
            use_count=Coalesce(Subquery(uses.annotate(n=Count("pk")).values("n")[:1]), Value(0))
        ).order_by("-use_count", "title", "pk")
    if sort == "review_due":
        return queryset.order_by(F("review_due").asc(nulls_last=True), "title", "pk")
    return queryset.order_by("title", "pk")


def block_search_queryset(*, user, data) -> QuerySet[BuildingBlock]:
    """The filtered, ordered blocks for the library page."""
    queryset = filter_blocks(block_list(user=user), data)
    text = data.get("q", "") or ""
    sort = data.get("sort", "") or ""
    return order_blocks(queryset, sort=sort, text=text)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool
    url: str = ""


@dataclass
class SearchPage:
    page: object
    facets: dict[str, list[FacetValue]]
    total: int
    sort: str
    query: str
    filters: dict[str, str]


def _attach_tag_names(blocks: list[BuildingBlock]) -> None:
    """`block.tag_names` for a page of blocks, in one query of plain values (no Tag objects)."""
    names: dict[int, list[str]] = defaultdict(list)
    rows = (
        BuildingBlock.tags.through.objects.filter(buildingblock_id__in=[b.pk for b in blocks])
        .order_by("tag__kind", "tag__name")
        .values_list("buildingblock_id", "tag__name")
    )
    for block_id, name in rows:
        names[block_id].append(name)
    for block in blocks:
        block.tag_names = names.get(block.pk, [])


def _facet_counts(*, user, data) -> tuple[int, dict[str, list[FacetValue]]]:
    """(total matches, counts per facet value) in one statement.

    Each facet counts the blocks matching every *other* active filter, so picking a stage still
    shows how many blocks each other stage would give (the usual drill-sideways behaviour).
    The visible blocks matching the search text (and status) are computed once, as a CTE the
    planner materialises (the full-text match runs once, through the GIN index); each scope
    narrows that set with the facet filters that apply to it, and facets whose own filter is
    not set share the scope of all the filters.
    """
    through = BuildingBlock.tags.through._meta.db_table
    tags = Tag._meta.db_table
    blocks = BuildingBlock._meta.db_table
    facet_filters = {name: data.get(name) for name in FACETS if data.get(name)}
    matching = filter_blocks(
        block_list(user=user).order_by(),
        {key: value for key, value in data.items() if key not in FACETS},
    )
    try:
        matching_sql, params = matching.order_by().values("id", "kind").query.sql_with_params()
    except EmptyResultSet:  # nothing is visible (no role) or the filters are invalid
        matching_sql, params = f'SELECT id, kind FROM "{blocks}" WHERE 1 = 0', []  # noqa: S608
    ctes, params = [f"matching (id, kind) AS ({matching_sql})"], list(params)

    scopes: dict[str | None, list[str]] = {None: []}
    for name in FACETS:
        scopes.setdefault(name if name in facet_filters else None, []).append(name)
    selects, select_params = [], []
    for index, (without, names) in enumerate(scopes.items()):
        conditions = []
        for name, value in facet_filters.items():
            if name == without:
                continue
            if name == "kind":
                conditions.append("m.kind = %s")
                params.append(value)
            else:
                # An uncorrelated IN: one hashed list of the tag's blocks, probed per row.
                conditions.append(
                    f'm.id IN (SELECT bt.buildingblock_id FROM "{through}" bt JOIN "{tags}" t '  # noqa: S608
                    "ON t.id = bt.tag_id WHERE t.kind = %s AND t.slug = %s)"
                )
                params += [TAG_FILTERS[name], value]
        where = " AND ".join(conditions) or "1 = 1"
        ctes.append(f"s{index} (id, kind) AS (SELECT m.id, m.kind FROM matching m WHERE {where})")  # noqa: S608, E501
        if "kind" in names:
            selects.append(f"SELECT 'kind', s.kind, '', COUNT(*) FROM s{index} s GROUP BY s.kind")  # noqa: S608, E501
        tag_kinds = [TAG_FILTERS[name] for name in names if name in TAG_FILTERS]
        if tag_kinds:
            # One pass over the scope's tags for all its tag facets.
            selects.append(
                "SELECT t.kind, t.slug, t.name, c.n FROM (SELECT bt.tag_id, COUNT(*) AS n "  # noqa: S608
                f'FROM s{index} s JOIN "{through}" bt ON bt.buildingblock_id = s.id '
                f'GROUP BY bt.tag_id) c JOIN "{tags}" t ON t.id = c.tag_id '
                f"WHERE t.kind IN ({', '.join(['%s'] * len(tag_kinds))})"
            )
            select_params += tag_kinds
    selects.append("SELECT 'total', '', '', COUNT(*) FROM s0")
    # Only our table names and CTE numbers are interpolated; every value is a parameter.
    sql = f"WITH {', '.join(ctes)} " + " UNION ALL ".join(selects)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *select_params])
        rows = cursor.fetchall()
    kind_labels = dict(BuildingBlock.Kind.choices)
    facets: dict[str, list[FacetValue]] = {name: [] for name in FACETS}
    total = 0
    facet_of = {kind: name for name, kind in TAG_FILTERS.items()} | {"kind": "kind"}
    for source, value, label, count in rows:
        if source == "total":
            total = count
        elif count:
            name = facet_of[source]
            label = kind_labels.get(value, value) if name == "kind" else label
            facets[name].append(FacetValue(value, label, count, data.get(name) == value))
    for values in facets.values():
        values.sort(key=lambda facet: (-facet.count, facet.label.lower()))
    return total, facets


def block_facets(*, user, data) -> dict[str, list[FacetValue]]:
    return _facet_counts(user=user, data=data)[1]


def block_search(*, user, data, page_number=1, page_size=PAGE_SIZE) -> SearchPage:
    """One page of the library with its facets: the facets with the total, the page, its tags."""
    total, facets = _facet_counts(user=user, data=data)
    ranked = block_search_queryset(user=user, data=data)
    paginator = Paginator(ranked, page_size)
    # The facet statement counted the matches already; the paginator need not count again.
    paginator.__dict__["count"] = total
    # get_page only validates the number here: its sliced queryset is never evaluated.
    number = paginator.get_page(page_number).number
    start = (number - 1) * page_size
    # Rank and sort only ids, then load the full rows of the page: wide rows (body, search
    # vector) never go through the sort. The page's rows are ordered the same way again.
    window = ranked.values("pk")[start : start + page_size]
    rows = list(
        order_blocks(
            BuildingBlock.objects.select_related("owner")
            .defer("search_vector")
            .filter(pk__in=Subquery(window)),
            sort=data.get("sort", "") or "",
            text=data.get("q", "") or "",
        )
    )
    _attach_tag_names(rows)
    page = Page(rows, number, paginator)
    text = (data.get("q") or "").strip()
    sort = data.get("sort") or ""
    active = {
        name: data.get(name) for name in (*FACETS, "status", "review_overdue") if data.get(name)
    }
    return SearchPage(
        page=page,
        facets=facets,
        total=total,
        sort=sort if sort in SORTS else "",
        query=text,
        filters=active,
    )


def blocks_review_due(*, today: date | None = None) -> QuerySet[BuildingBlock]:
    today = today or timezone.localdate()
    return (
        BuildingBlock.objects.filter(status=Status.PUBLISHED, review_due__lt=today)
        .select_related("owner")
        .order_by("owner_id", "review_due", "pk")
    )


def review_queue(*, user) -> QuerySet[BuildingBlock]:
    if not permissions.can_curate(user):
        return BuildingBlock.objects.none()
    return (
        BuildingBlock.objects.filter(status=Status.IN_REVIEW)
        .select_related("owner")
        .prefetch_related("tags")
        .order_by("updated_at", "pk")
    )


def block_versions(*, block: BuildingBlock) -> QuerySet[BlockVersion]:
    return block.versions.select_related("created_by").order_by("-number")


def block_events(*, block: BuildingBlock, limit: int = 30) -> list[BlockEvent]:
    return list(block.events.select_related("actor").order_by("-at", "-pk")[:limit])


def block_usages_for(*, block: BuildingBlock, user, limit: int = 20) -> tuple[list, int]:
    """Recent uses on deals the user may see, and how many other uses exist."""
    usages = BlockUsage.objects.filter(block=block)
    scope = opportunity_visibility_q(user)
    visible = usages if scope is None else usages.filter(_prefix_q(scope, "opportunity"))
    shown = list(
        visible.select_related("opportunity", "opportunity__account", "stage", "user").order_by(
            "-at", "-pk"
        )[:limit]
    )
    hidden = usages.count() - visible.count() if scope is not None else 0
    return shown, hidden


# --- effectiveness ------------------------------------------------------------------------------


@dataclass
class GroupFigures:
    deals: int
    won: int
    lost: int
    mttc_days: float | None

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def win_rate(self) -> float | None:
        return measures.win_rate(self.won, self.lost)


@dataclass
class Effectiveness:
    uses: int
    with_block: GroupFigures
    without_block: GroupFigures
    stage_names: list[str] = field(default_factory=list)

    @property
    def small_sample(self) -> bool:
        return min(self.with_block.closed, self.without_block.closed) < SMALL_SAMPLE

    @property
    def win_rate_delta(self) -> float | None:
        a, b = self.with_block.win_rate, self.without_block.win_rate
        return None if a is None or b is None else a - b

    @property
    def mttc_delta(self) -> float | None:
        a, b = self.with_block.mttc_days, self.without_block.mttc_days
        return None if a is None or b is None else a - b


def _group_figures(deals: QuerySet[Opportunity]) -> GroupFigures:
    row = deals.order_by().aggregate(
        deals=Count("pk"),
        won=Count("pk", filter=measures.WON),
        lost=Count("pk", filter=measures.LOST),
        mttc=Avg(measures.mttc_duration(), filter=measures.WON & measures.CLOCKED),
    )
    return GroupFigures(deals=row["deals"], won=row["won"], lost=row["lost"], mttc_days=row["mttc"])


def block_effectiveness(*, block: BuildingBlock, user) -> Effectiveness:
    """How deals that used the block did, against deals that reached the same stages without it,
    among the deals `user` may see (an SA must not learn of other teams' wins through a block).

    "With": every such deal with a usage of the block. "Without": such deals that entered one of
    the stages the block was used at and have no usage of it. Win rate = won / (won + lost);
    MTTC = mean of closed_at − engaged_at in days over won deals. Qualified-out deals count in
    neither. All time, no period.
    """
    visible = opportunity_visibility_q(user)
    deals = Opportunity.objects.all() if visible is None else Opportunity.objects.filter(visible)
    usages = BlockUsage.objects.filter(block=block)
    if visible is not None:
        usages = usages.filter(opportunity__in=deals.values("pk"))
    stage_rows = list(usages.order_by().values_list("stage_id", "stage__name").distinct())
    stage_ids = [stage_id for stage_id, _ in stage_rows]
    used = usages.filter(opportunity_id=OuterRef("pk"))
    with_block = _group_figures(deals.filter(Exists(used)).annotate(uses=Value(1)))
    reached = StageTransition.objects.filter(
        opportunity_id=OuterRef("pk"), to_stage_id__in=stage_ids
    )
    without_block = (
        _group_figures(deals.filter(Exists(reached)).exclude(Exists(used)))
        if stage_ids
        else GroupFigures(0, 0, 0, None)
    )
    return Effectiveness(
        uses=usages.count(),
        with_block=with_block,
        without_block=without_block,
        stage_names=sorted({name for _, name in stage_rows}),
    )


# --- recommendations ----------------------------------------------------------------------------

# Points per reason; effectiveness adds up to EFFECTIVENESS_POINTS for a block that won every
# deal it was used in (smoothed, so two lucky deals do not beat twenty good ones).
STAGE_POINTS = 40
ANY_STAGE_POINTS = 10
USE_CASE_POINTS = 25
DISCOVERY_POINTS = 20
INDUSTRY_POINTS = 15
PRODUCT_POINTS = 15
EFFECTIVENESS_POINTS = 20
EFFECTIVENESS_MIN_CLOSED = 3


@dataclass
class Recommendation:
    block: BuildingBlock
    score: float
    why: list[str]
    used_here: bool


_RECOMMENDATION_SQL = """
WITH wanted AS (
    SELECT id, kind, slug FROM {tag}
    WHERE kind = 'stage' OR (kind = 'use_case' AND slug = %(use_case)s)
       OR (kind = 'industry' AND slug = %(industry)s) OR (kind = 'product' AND slug = %(product)s)
), hits AS (
    SELECT bt.buildingblock_id AS id,
        MAX(CASE WHEN w.kind = 'stage' AND w.slug = %(stage)s THEN 1 ELSE 0 END) AS stage_hit,
        MAX(CASE WHEN w.kind = 'stage' THEN 1 ELSE 0 END) AS has_stage,
        MAX(CASE WHEN w.kind = 'use_case' THEN 1 ELSE 0 END) AS use_case_hit,
        MAX(CASE WHEN w.kind = 'industry' THEN 1 ELSE 0 END) AS industry_hit,
        MAX(CASE WHEN w.kind = 'product' THEN 1 ELSE 0 END) AS product_hit
    FROM {block_tags} bt JOIN wanted w ON w.id = bt.tag_id
    GROUP BY bt.buildingblock_id
), discovered AS (
    SELECT bn.buildingblock_id AS id, MIN(n.title) AS need
    FROM {block_needs} bn JOIN {need} n ON n.id = bn.technicalneed_id
    WHERE bn.technicalneed_id IN (
        SELECT need_id FROM {discovery} WHERE opportunity_id = %(opportunity)s
    )
    GROUP BY bn.buildingblock_id
), candidates AS (
    SELECT b.id, b.title, b.kind, b.summary,
        COALESCE(h.stage_hit, 0) AS stage_hit, COALESCE(h.has_stage, 0) AS has_stage,
        COALESCE(h.use_case_hit, 0) AS use_case_hit, COALESCE(h.industry_hit, 0) AS industry_hit,
        COALESCE(h.product_hit, 0) AS product_hit, d.need
    FROM {block} b
    LEFT JOIN hits h ON h.id = b.id
    LEFT JOIN discovered d ON d.id = b.id
    WHERE b.status = 'published' AND (
        h.stage_hit = 1 OR (COALESCE(h.has_stage, 0) = 0 AND (
            h.use_case_hit = 1 OR h.industry_hit = 1 OR h.product_hit = 1 OR d.need IS NOT NULL
        ))
    )
), stats AS (
    SELECT u.block_id AS id,
        COUNT(DISTINCT CASE WHEN o.outcome = 'won' THEN u.opportunity_id END) AS won,
        COUNT(DISTINCT CASE WHEN o.outcome IN ('won', 'lost') THEN u.opportunity_id END)
            AS closed,
        MAX(CASE WHEN u.opportunity_id = %(opportunity)s THEN 1 ELSE 0 END) AS used_here
    FROM {usage} u JOIN {opportunity_table} o ON o.id = u.opportunity_id
    WHERE u.block_id IN (SELECT id FROM candidates)
    GROUP BY u.block_id
)
SELECT c.id, c.title, c.kind, c.summary, c.stage_hit, c.has_stage, c.use_case_hit,
    c.industry_hit, c.product_hit, c.need,
    COALESCE(s.won, 0), COALESCE(s.closed, 0), COALESCE(s.used_here, 0),
    c.stage_hit * %(stage_points)s + (1 - c.has_stage) * %(any_stage_points)s
        + c.use_case_hit * %(use_case_points)s + c.industry_hit * %(industry_points)s
        + c.product_hit * %(product_points)s
        + CASE WHEN c.need IS NULL THEN 0 ELSE %(discovery_points)s END
        + %(effectiveness_points)s * (COALESCE(s.won, 0) + 1.0) / (COALESCE(s.closed, 0) + 2.0)
        AS score
FROM candidates c LEFT JOIN stats s ON s.id = c.id
ORDER BY score DESC, c.title, c.id
LIMIT %(limit)s
"""


def recommended_blocks(*, opportunity: Opportunity, limit: int = 5) -> list[Recommendation]:
    """Published blocks for the deal's current stage, best first, each with its reasons. One query.

    A block qualifies when it is tagged with the current stage, or has no stage tag at all and
    matches the deal otherwise (use case, industry, product or a need from its discovery).

    Hand-written SQL: each signal is aggregated once in its own CTE (the tags that matter, the
    deal's discovered needs, the uses of the candidates) and joined, which stays fast at 10,000
    blocks. The ORM forms of it either multiplied tags by uses in one big GROUP BY or ran
    correlated subqueries per block, whose estimated cost made PostgreSQL JIT-compile the query
    (seconds). Only table names are interpolated; every value is a parameter. Portable SQL:
    it runs on SQLite too.
    """
    stage = opportunity.stage
    account = opportunity.account
    industry = slugify(account.industry) if account is not None and account.industry else ""
    product = slugify(opportunity.product) if opportunity.product else ""
    tables = {
        "tag": Tag._meta.db_table,
        "block_tags": BuildingBlock.tags.through._meta.db_table,
        "block_needs": BuildingBlock.needs.through._meta.db_table,
        "need": TechnicalNeed._meta.db_table,
        "discovery": DiscoveryLink._meta.db_table,
        "block": BuildingBlock._meta.db_table,
        "usage": BlockUsage._meta.db_table,
        "opportunity_table": Opportunity._meta.db_table,
    }
    parameters = {
        "stage": stage.slug,
        "use_case": opportunity.use_case,
        "industry": industry or None,
        "product": product or None,
        "opportunity": opportunity.pk,
        "stage_points": STAGE_POINTS,
        "any_stage_points": ANY_STAGE_POINTS,
        "use_case_points": USE_CASE_POINTS,
        "industry_points": INDUSTRY_POINTS,
        "product_points": PRODUCT_POINTS,
        "discovery_points": DISCOVERY_POINTS,
        "effectiveness_points": EFFECTIVENESS_POINTS,
        "limit": limit,
    }
    sql = _RECOMMENDATION_SQL.format(**{key: f'"{name}"' for key, name in tables.items()})
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        rows = cursor.fetchall()
    blocks = []
    for row in rows:
        (pk, title, kind, summary, stage_hit, has_stage, use_case_hit, industry_hit, product_hit,
         need, won, closed, used_here, score) = row  # fmt: skip
        block = BuildingBlock(pk=pk, title=title, kind=kind, summary=summary)
        block.stage_match, block.any_stage = bool(stage_hit), not has_stage
        block.use_case_match, block.industry_match = bool(use_case_hit), bool(industry_hit)
        block.product_match, block.discovery_need = bool(product_hit), need
        block.won_deals, block.closed_deals = won, closed
        block.used_here, block.score = bool(used_here), float(score)
        blocks.append(block)
    use_case_label = opportunity.get_use_case_display()
    recommendations = []
    for block in blocks:
        why = []
        if block.stage_match:
            why.append(f"Made for the {stage.name} stage")
        elif block.any_stage:
            why.append("Useful at any stage")
        if block.use_case_match:
            why.append(f"For {use_case_label.lower()} deals")
        if block.discovery_need:
            why.append(f"Helps with “{block.discovery_need}” from this deal's discovery")
        if block.industry_match:
            why.append(f"Fits the {account.industry} industry")
        if block.product_match:
            why.append(f"Covers {opportunity.product}")
        if block.closed_deals >= EFFECTIVENESS_MIN_CLOSED:
            why.append(f"Won {block.won_deals} of {block.closed_deals} closed deals that used it")
        recommendations.append(
            Recommendation(block=block, score=block.score, why=why, used_here=block.used_here)
        )
    return recommendations


# --- the discovery catalog ----------------------------------------------------------------------


def catalog_links(*, use_case: str | None = None) -> QuerySet[ChallengeNeedLink]:
    links = ChallengeNeedLink.objects.select_related("challenge", "need")
    if use_case:
        links = links.filter(use_case=use_case)
    return links.order_by("use_case", "challenge__position", "position", "pk")


def catalog_suggested_blocks(*, need_ids) -> dict[int, list[dict]]:
    """Published blocks per technical need, in one query."""
    rows = (
        BuildingBlock.needs.through.objects.filter(
            technicalneed_id__in=list(need_ids), buildingblock__status=Status.PUBLISHED
        )
        .order_by("buildingblock__title")
        .values(
            "technicalneed_id", "buildingblock_id", "buildingblock__title", "buildingblock__kind"
        )
    )
    kinds = dict(BuildingBlock.Kind.choices)
    by_need: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_need[row["technicalneed_id"]].append(
            {
                "id": row["buildingblock_id"],
                "title": row["buildingblock__title"],
                "kind": kinds.get(row["buildingblock__kind"], ""),
            }
        )
    return by_need


@dataclass
class CatalogChallenge:
    challenge: object
    links: list = field(default_factory=list)
    from_context: bool = False


@dataclass
class CatalogNeed:
    need: object
    links: list = field(default_factory=list)
    blocks: list = field(default_factory=list)


@dataclass
class DiscoveryPanel:
    challenges: list[CatalogChallenge]
    needs: list[CatalogNeed]
    recorded: list
    use_case: str


def discovery_panel(*, opportunity: Opportunity) -> DiscoveryPanel:
    """The catalog for the deal's use case with what the deal recorded: two queries."""
    recorded_pair = DiscoveryLink.objects.filter(
        opportunity_id=opportunity.pk,
        challenge_id=OuterRef("challenge_id"),
        need_id=OuterRef("need_id"),
    )
    links = list(
        catalog_links()
        .filter(Q(use_case=opportunity.use_case) | Q(Exists(recorded_pair)))
        .annotate(
            recorded_id=Subquery(recorded_pair.values("pk")[:1]),
            recorded_direction=Subquery(recorded_pair.values("direction")[:1]),
            recorded_priority=Subquery(recorded_pair.values("priority")[:1]),
            recorded_note=Subquery(recorded_pair.values("impact_note")[:1]),
        )
    )
    blocks_by_need = catalog_suggested_blocks(need_ids={link.need_id for link in links})
    context = ""
    if opportunity.account is not None:
        context = (opportunity.account.business_context or "").lower()
    challenges: dict[int, CatalogChallenge] = {}
    needs: dict[int, CatalogNeed] = {}
    recorded = []
    for link in links:
        in_use_case = link.use_case == opportunity.use_case
        if in_use_case:
            challenge = challenges.setdefault(
                link.challenge_id,
                CatalogChallenge(
                    link.challenge,
                    from_context=any(word in context for word in link.challenge.keyword_list),
                ),
            )
            challenge.links.append(link)
            need = needs.setdefault(
                link.need_id,
                CatalogNeed(link.need, blocks=blocks_by_need.get(link.need_id, [])),
            )
            need.links.append(link)
        if link.recorded_id is not None:
            link.suggested_blocks = blocks_by_need.get(link.need_id, [])
            link.priority_label = DiscoveryLink.Priority(link.recorded_priority).label
            recorded.append(link)
    recorded.sort(key=lambda link: (link.recorded_priority, link.recorded_id))
    ordered_challenges = sorted(
        challenges.values(), key=lambda item: (not item.from_context, item.challenge.position)
    )
    ordered_needs = sorted(needs.values(), key=lambda item: item.need.position)
    return DiscoveryPanel(
        challenges=ordered_challenges,
        needs=ordered_needs,
        recorded=recorded,
        use_case=opportunity.use_case,
    )


# --- training -----------------------------------------------------------------------------------


@dataclass
class PathProgress:
    path: TrainingPath
    steps: list
    done_step_ids: set[int]

    @property
    def done(self) -> int:
        return len(self.done_step_ids)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def training_paths_for(*, user, path_id: int | None = None) -> list[PathProgress]:
    """The paths of the user's roles (every path for curators and admins) with their progress."""
    roles = user_roles(user)
    paths = TrainingPath.objects.prefetch_related("steps__block").order_by("role", "position")
    if not roles & {"curator", "admin"}:
        paths = paths.filter(role__in=roles)
    if path_id is not None:
        paths = paths.filter(pk=path_id)
    done = set(
        TrainingCompletion.objects.filter(user=user, step__path__in=paths).values_list(
            "step_id", flat=True
        )
    )
    progress = []
    for path in paths:
        steps = list(path.steps.all())
        progress.append(PathProgress(path, steps, {step.pk for step in steps if step.pk in done}))
    return progress


@dataclass
class MemberProgress:
    user: object
    team: str
    per_path: dict[int, tuple[int, int]]


def team_training(*, user) -> tuple[list[TrainingPath], list[MemberProgress]]:
    """For a manager: each member of their teams against every SA and manager training path."""
    from django.contrib.auth import get_user_model

    from opportunities.models import Team

    team_ids = managed_team_ids(user)
    if "admin" in user_roles(user):
        team_ids = set(Team.objects.values_list("pk", flat=True))
    paths = list(
        TrainingPath.objects.filter(role__in=["sa", "manager"])
        .annotate(step_count=Count("steps"))
        .order_by("role", "position")
    )
    memberships = list(
        Team.members.through.objects.filter(team_id__in=team_ids)
        .select_related("team")
        .order_by("team__name", "user_id")
    )
    user_ids = {membership.user_id for membership in memberships}
    users = {member.pk: member for member in get_user_model().objects.filter(pk__in=user_ids)}
    roles = defaultdict(set)
    for user_id, role in (
        get_user_model()
        .groups.through.objects.filter(user_id__in=user_ids, group__name__in=["sa", "manager"])
        .values_list("user_id", "group__name")
    ):
        roles[user_id].add(role)
    counts = defaultdict(int)
    for user_id, path_id, n in (
        TrainingCompletion.objects.filter(user_id__in=user_ids)
        .values("user_id", "step__path_id")
        .annotate(n=Count("pk"))
        .values_list("user_id", "step__path_id", "n")
    ):
        counts[(user_id, path_id)] = n
    members = []
    seen = set()
    for membership in memberships:
        if membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        members.append(
            MemberProgress(
                user=users[membership.user_id],
                team=membership.team.name,
                # A path of another role is not this person's to do: None, shown as a dash.
                per_path={
                    path.pk: (counts[(membership.user_id, path.pk)], path.step_count)
                    if path.role in roles[membership.user_id]
                    else None
                    for path in paths
                },
            )
        )
    return paths, members


# --- the curators' editors ----------------------------------------------------------------------


def _count_of(rows: QuerySet, group: str, counted: str = "pk", distinct: bool = False) -> Coalesce:
    """A correlated COUNT (no join fan-out when several counts sit on one row)."""
    counts = (
        rows.order_by().values(group).annotate(n=Count(counted, distinct=distinct)).values("n")[:1]
    )
    return Coalesce(Subquery(counts), 0)


def _deals_recording(**pair) -> Coalesce:
    links = DiscoveryLink.objects.filter(**pair)
    return _count_of(links, next(iter(pair)), "opportunity_id", distinct=True)


def catalog_challenges_for_editing(*, use_case: str) -> QuerySet[BusinessChallenge]:
    """The challenges of a use case with their links (and the need of each), and how many deals
    recorded each challenge and each link: two queries."""
    links = (
        ChallengeNeedLink.objects.select_related("need")
        .annotate(
            deal_count=_deals_recording(
                challenge_id=OuterRef("challenge_id"), need_id=OuterRef("need_id")
            )
        )
        .order_by("position", "pk")
    )
    return (
        BusinessChallenge.objects.filter(use_case=use_case)
        .annotate(deal_count=_deals_recording(challenge_id=OuterRef("pk")))
        .prefetch_related(Prefetch("need_links", queryset=links))
        .order_by("position", "title", "pk")
    )


def _needs_with_counts() -> QuerySet[TechnicalNeed]:
    return TechnicalNeed.objects.annotate(
        link_count=_count_of(ChallengeNeedLink.objects.filter(need_id=OuterRef("pk")), "need_id"),
        block_count=_count_of(
            BuildingBlock.needs.through.objects.filter(technicalneed_id=OuterRef("pk")),
            "technicalneed_id",
        ),
        deal_count=_deals_recording(need_id=OuterRef("pk")),
    )


def catalog_needs_for_editing(*, use_case: str) -> QuerySet[TechnicalNeed]:
    """The needs of a use case with their link, block and deal counts: one query."""
    return _needs_with_counts().filter(use_case=use_case).order_by("position", "title", "pk")


def catalog_challenge_get(*, pk) -> BusinessChallenge | None:
    return (
        BusinessChallenge.objects.annotate(
            deal_count=_deals_recording(challenge_id=OuterRef("pk")),
            link_count=_count_of(
                ChallengeNeedLink.objects.filter(challenge_id=OuterRef("pk")), "challenge_id"
            ),
        )
        .filter(pk=pk)
        .first()
    )


def catalog_need_get(*, pk) -> TechnicalNeed | None:
    return _needs_with_counts().filter(pk=pk).first()


def catalog_link_get(*, pk) -> ChallengeNeedLink | None:
    return (
        ChallengeNeedLink.objects.select_related("challenge", "need")
        .annotate(
            deal_count=_deals_recording(
                challenge_id=OuterRef("challenge_id"), need_id=OuterRef("need_id")
            )
        )
        .filter(pk=pk)
        .first()
    )


def blocks_filed_under(*, need: TechnicalNeed, limit: int = 10) -> list[BuildingBlock]:
    return list(need.blocks.only("pk", "title", "status").order_by("title", "pk")[:limit])


def training_path_for_editing(*, pk) -> TrainingPath | None:
    """A path with its steps in order, each with its block and how many people completed it."""
    steps = (
        TrainingStep.objects.select_related("block")
        .only("pk", "path_id", "position", "note", "block__id", "block__title", "block__status")
        .annotate(
            completion_count=_count_of(
                TrainingCompletion.objects.filter(step_id=OuterRef("pk")), "step_id"
            )
        )
        .order_by("position", "pk")
    )
    return (
        TrainingPath.objects.prefetch_related(Prefetch("steps", queryset=steps))
        .filter(pk=pk)
        .first()
    )


def training_step_block_choices(*, path: TrainingPath) -> QuerySet[BuildingBlock]:
    """Published blocks that are not a step of the path yet, by title."""
    return (
        BuildingBlock.objects.filter(status=Status.PUBLISHED)
        .exclude(pk__in=TrainingStep.objects.filter(path_id=path.pk).values("block_id"))
        .only("pk", "title", "kind")
        .order_by("title", "pk")
    )
