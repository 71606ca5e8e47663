import django_filters

from epos.lib.filters import IdFilter
from integrations.models import SyncRun


class SyncRunFilter(django_filters.FilterSet):
    connection = IdFilter(field_name="connection_id")  # an id, not any number (a 400 otherwise)
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices)

    class Meta:
        model = SyncRun
        fields = ["connection", "status"]
