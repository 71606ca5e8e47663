"""FilterSets shared by the HTML lists and the API."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
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
