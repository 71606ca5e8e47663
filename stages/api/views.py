from django_filters import rest_framework as filters
from rest_framework import viewsets

from epos.lib.permissions import HasRole
from stages.api.serializers import ProcessSerializer
from stages.models import Process
from stages.selectors import process_list


class ProcessFilter(filters.FilterSet):
    class Meta:
        model = Process
        fields = ["slug", "status"]


class ProcessViewSet(viewsets.ReadOnlyModelViewSet):
    """Processes with their stages, checklist items and tools nested."""

    permission_classes = [HasRole]
    serializer_class = ProcessSerializer
    filterset_class = ProcessFilter
    ordering_fields = ["name", "version", "created_at"]

    def get_queryset(self):
        return process_list()
