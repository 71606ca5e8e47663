import django_filters

from integrations.models import SyncRun


class SyncRunFilter(django_filters.FilterSet):
    connection = django_filters.NumberFilter(field_name="connection_id")
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices)

    class Meta:
        model = SyncRun
        fields = ["connection", "status"]
