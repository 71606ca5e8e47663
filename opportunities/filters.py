"""FilterSets shared by the HTML lists and the API."""

from django.db.models import Q
from django_filters import rest_framework as filters

from opportunities.models import Account, Activity, Contact, EsatResponse, Opportunity, ProductGap


class OpportunityFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Search name or account")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    closed_after = filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="gte")
    closed_before = filters.IsoDateTimeFilter(field_name="closed_at", lookup_expr="lt")

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
