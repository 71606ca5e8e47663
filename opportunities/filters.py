"""FilterSets shared by the HTML lists and the API."""

from urllib.parse import urlencode

from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Q
from django.db.models.functions import Lower
from django_filters import rest_framework as filters

from epos.lib.filters import IsoDateTimeFilter
from epos.models import ExternalRef
from opportunities.models import Account, Activity, Contact, EsatResponse, Opportunity, ProductGap


class OpportunityFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Search name or account")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    closed_after = IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    closed_before = IsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")
    external_id = filters.CharFilter(
        method="filter_external_id",
        max_length=255,
        label="The id another system (Salesforce, Maven, Vivun…) gave the deal",
    )

    class Meta:
        model = Opportunity
        fields = [
            "process",
            "stage",
            "owner",
            "team",
            "outcome",
            "use_case",
            "source",
            "account",
            "product",
        ]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(account__name__icontains=value))

    def filter_external_id(self, queryset, name, value):
        refs = ExternalRef.objects.filter(
            kind="opportunity",
            external_id=value.strip(),
            content_type=ContentType.objects.get_for_model(Opportunity),
        )
        return queryset.filter(pk__in=refs.values("object_id"))


# The opportunity list's sortable columns: ?sort=<key> ascending, ?sort=-<key> descending. Text
# sorts as people read it (case left aside); empty values come last either way; the id breaks
# ties in the same direction, so a page never repeats or skips a deal of the one before it.
OPPORTUNITY_SORTS = {
    "name": (Lower("name"),),
    "account": (Lower("account__name"),),
    "stage": (Lower("process__name"), F("stage__position")),
    "owner": (Lower("owner__first_name"), Lower("owner__last_name"), Lower("owner__username")),
    "amount": (F("amount"),),
    "close": (F("expected_close_date"),),
    "created": (F("created_at"),),
}
# Columns that may be empty; the others are asked without NULLS LAST, which would keep
# PostgreSQL from reading the default order (newest first) off its index.
NULLABLE_SORTS = {"account", "owner", "amount", "close"}
DEFAULT_OPPORTUNITY_SORT = "-created"


def opportunity_sort(value: str | None) -> str:
    """The sort in force for ?sort=`value`: the value when it names a sortable column, else the
    default (an unknown key is ignored, never an error)."""
    value = (value or "").strip()
    key = value.removeprefix("-")
    return value if key in OPPORTUNITY_SORTS else DEFAULT_OPPORTUNITY_SORT


def opportunity_ordering(sort: str | None) -> list:
    """The ORDER BY of ?sort=`sort` (the default for an unknown key), the id last."""
    sort = opportunity_sort(sort)
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    nulls_last = True if key in NULLABLE_SORTS else None
    ordering = [
        expression.desc(nulls_last=nulls_last)
        if descending
        else expression.asc(nulls_last=nulls_last)
        for expression in OPPORTUNITY_SORTS[key]
    ]
    return [*ordering, F("pk").desc() if descending else F("pk").asc()]


class OpportunityListFilter(OpportunityFilter):
    """The HTML list's FilterSet: the API's filters plus the list's column sort."""

    sort = filters.CharFilter(method="filter_sort", label="Sort by")

    def filter_sort(self, queryset, name, value):
        return queryset.order_by(*opportunity_ordering(value))


def list_query_string(params) -> str:
    """The filters and sort of a list's query string (a QueryDict), in a fixed order, without
    the page, empty values or anything the list does not read: what a saved view stores, so
    the same list always gives the same string."""
    pairs = [
        (key, value)
        for key in OpportunityListFilter.base_filters
        for value in params.getlist(key)
        if value.strip()
    ]
    return urlencode(pairs)


class AccountFilter(filters.FilterSet):
    search = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Account
        fields = ["industry", "segment", "country", "team"]


class ContactFilter(filters.FilterSet):
    class Meta:
        model = Contact
        fields = ["account", "level", "is_decision_maker", "is_champion"]


class ActivityFilter(filters.FilterSet):
    class Meta:
        model = Activity
        fields = ["opportunity", "kind", "source"]


class EsatResponseFilter(filters.FilterSet):
    class Meta:
        model = EsatResponse
        fields = ["opportunity", "stage", "score", "source"]


class ProductGapFilter(filters.FilterSet):
    class Meta:
        model = ProductGap
        fields = ["opportunity", "severity", "status"]
