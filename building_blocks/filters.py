"""The one FilterSet the library page and the API share."""

import re

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone
from django_filters import rest_framework as filters

from building_blocks.models import BuildingBlock, Tag
from epos.lib.filters import IdFilter
from epos.lib.ids import parse_id

SEARCH_CONFIG = "english"
MAX_TERMS = 8
TAG_FILTERS = {
    "stage": Tag.Kind.STAGE,
    "use_case": Tag.Kind.USE_CASE,
    "industry": Tag.Kind.INDUSTRY,
    "product": Tag.Kind.PRODUCT,
}
FACETS = ("kind", *TAG_FILTERS)


def search_terms(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())[:MAX_TERMS]


def search_query(text: str) -> SearchQuery | None:
    """Every word must match, the last ones as prefixes too ("observ" finds "observability")."""
    terms = search_terms(text)
    if not terms:
        return None
    return SearchQuery(
        " & ".join(f"{term}:*" for term in terms), search_type="raw", config=SEARCH_CONFIG
    )


def has_tag(kind: str, slug: str) -> Exists:
    return Exists(
        BuildingBlock.tags.through.objects.filter(
            buildingblock_id=OuterRef("pk"), tag__kind=kind, tag__slug=slug
        )
    )


def text_filter(queryset, text: str):
    """Full-text match on PostgreSQL, every word somewhere in title/summary/body elsewhere."""
    terms = search_terms(text)
    if not terms:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.filter(search_vector=search_query(text))
    for term in terms:
        queryset = queryset.filter(
            Q(title__icontains=term) | Q(summary__icontains=term) | Q(body__icontains=term)
        )
    return queryset


def fallback_rank(text: str):
    """SQLite's ranking: a word in the title weighs most, then the summary, then the body."""
    terms = search_terms(text)
    score = Value(0)
    for term in terms:
        score = score + Case(
            When(title__icontains=term, then=Value(4)),
            When(summary__icontains=term, then=Value(2)),
            default=Value(1),
            output_field=IntegerField(),
        )
    whole = text.strip()
    if whole:
        score = score + Case(
            When(title__icontains=whole, then=Value(8)),
            default=Value(0),
            output_field=IntegerField(),
        )
    return score


def filter_blocks(queryset, data):
    """The same filtering as BlockFilter, without building a form: the library page calls it
    several times per request. An invalid choice matches nothing, as in the API."""
    kind, status = data.get("kind"), data.get("status")
    if kind:
        if kind not in BuildingBlock.Kind.values:
            return queryset.none()
        queryset = queryset.filter(kind=kind)
    if status:
        if status not in BuildingBlock.Status.values:
            return queryset.none()
        queryset = queryset.filter(status=status)
    owner = data.get("owner")
    if owner:
        owner_id = parse_id(owner)
        if owner_id is None:
            return queryset.none()
        queryset = queryset.filter(owner_id=owner_id)
    for name, tag_kind in TAG_FILTERS.items():
        value = (data.get(name) or "").strip()
        if value:
            queryset = queryset.filter(has_tag(tag_kind, value))
    overdue = data.get("review_overdue")
    if overdue in ("true", "True", "1", True):
        queryset = queryset.filter(
            status=BuildingBlock.Status.PUBLISHED, review_due__lt=timezone.localdate()
        )
    elif overdue in ("false", "False", "0", False):
        queryset = queryset.exclude(
            status=BuildingBlock.Status.PUBLISHED, review_due__lt=timezone.localdate()
        )
    return text_filter(queryset, data.get("q") or "")


class BlockFilter(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", label="Search")
    kind = filters.ChoiceFilter(choices=BuildingBlock.Kind.choices)
    stage = filters.CharFilter(method="filter_tag", label="Stage (slug)")
    use_case = filters.CharFilter(method="filter_tag", label="Use case")
    industry = filters.CharFilter(method="filter_tag", label="Industry (slug)")
    product = filters.CharFilter(method="filter_tag", label="Product (slug)")
    status = filters.ChoiceFilter(choices=BuildingBlock.Status.choices)
    owner = IdFilter(field_name="owner_id")
    review_overdue = filters.BooleanFilter(method="filter_review_overdue")

    class Meta:
        model = BuildingBlock
        fields = ["kind", "status", "owner"]

    def filter_q(self, queryset, name, value):
        return text_filter(queryset, value)

    def filter_tag(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(has_tag(TAG_FILTERS[name], value))

    def filter_review_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(status=BuildingBlock.Status.PUBLISHED, review_due__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
