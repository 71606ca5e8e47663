from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from epos.lib.ids import parse_id
from epos.lib.permissions import HasRole
from opportunities import selectors, services
from opportunities.api import serializers as s
from opportunities.filters import (
    AccountFilter,
    ActivityFilter,
    ContactFilter,
    EsatResponseFilter,
    OpportunityFilter,
    ProductGapFilter,
)
from stages.models import StageItem


class AccountViewSet(viewsets.ModelViewSet):
    permission_classes = [HasRole]
    serializer_class = s.AccountSerializer
    filterset_class = AccountFilter
    ordering_fields = ["name", "created_at", "employees"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.account_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.account_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.account_update(
            account=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.account_delete(account=instance, actor=self.request.user)


class ContactViewSet(viewsets.ModelViewSet):
    permission_classes = [HasRole]
    serializer_class = s.ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = ["name"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.contact_list(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.contact_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.contact_update(
            contact=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.contact_delete(contact=instance, actor=self.request.user)


@extend_schema_view(
    create=extend_schema(
        request=s.OpportunityCreateSerializer, responses=s.OpportunityOutputSerializer
    ),
    update=extend_schema(
        request=s.OpportunityUpdateSerializer, responses=s.OpportunityOutputSerializer
    ),
    partial_update=extend_schema(
        request=s.OpportunityUpdateSerializer, responses=s.OpportunityOutputSerializer
    ),
)
class OpportunityViewSet(viewsets.ModelViewSet):
    """Opportunities the caller may see. Stages change only through `move/`."""

    permission_classes = [HasRole]
    serializer_class = s.OpportunityOutputSerializer
    filterset_class = OpportunityFilter
    ordering_fields = ["created_at", "amount", "closed_at", "name", "stage_entered_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return selectors.opportunity_list_for_api(user=self.request.user)

    def filter_queryset(self, queryset):
        # The list filters apply to the list; a detail route ignores its query string.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def _output(self, opportunity, code=status.HTTP_200_OK):
        # The write has committed: answer with what was written even if the caller no longer
        # sees the deal (an admin's move to another team), never with an error.
        fresh = self.get_queryset().filter(pk=opportunity.pk).first() or opportunity
        return Response(s.opportunity_output(fresh), status=code)

    def create(self, request, *args, **kwargs):
        data = s.OpportunityCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opportunity = services.opportunity_create(actor=request.user, **data.validated_data)
        return self._output(opportunity, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        opportunity = self.get_object()
        data = s.OpportunityUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        expected_version = changes.pop("expected_version", None)
        opportunity = services.opportunity_update(
            opportunity=opportunity,
            actor=request.user,
            expected_version=expected_version,
            **changes,
        )
        return self._output(opportunity)

    def perform_destroy(self, instance):
        services.opportunity_delete(opportunity=instance, actor=self.request.user)

    @extend_schema(
        request=s.MoveInputSerializer,
        responses={
            200: s.OpportunityOutputSerializer,
            400: OpenApiResponse(s.ErrorSerializer, description="Invalid stage or missing reason"),
            409: OpenApiResponse(
                s.MoveConflictSerializer, description="A gate blocks or the version is stale"
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        # The service reads the deal under its lock, with what the answer prints, and answers
        # 404 for a deal the caller may not see: one read instead of get_object() and a lock.
        deal_id = parse_id(pk)
        if deal_id is None:
            raise Http404  # as get_object() answers an id that is none
        data = s.MoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        moved = services.opportunity_move_to_stage(
            opportunity=deal_id,
            to_stage=values["stage"],
            actor=request.user,
            note=values["note"],
            override_reason=values["override_reason"],
            loss_reason=values["loss_reason"],
            qualified_out=values["qualified_out"],
            expected_version=values.get("expected_version"),
        )
        return Response(s.opportunity_output(moved))

    @extend_schema(responses=s.TransitionSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=[])
    def transitions(self, request, pk=None):
        opportunity = self.get_object()
        page = self.paginate_queryset(selectors.transition_list(opportunity=opportunity))
        return self.get_paginated_response(s.TransitionSerializer(page, many=True).data)

    @extend_schema(request=s.ChecklistInputSerializer, responses=s.ChecklistCompletionSerializer)
    @action(
        detail=True,
        methods=["put"],
        url_path=r"checklist/(?P<item_id>\d+)",
        url_name="checklist-item",
    )
    def checklist(self, request, pk=None, item_id=None):
        opportunity = self.get_object()
        item = get_object_or_404(StageItem.objects.select_related("stage"), pk=item_id)
        data = s.ChecklistInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        completion = services.checklist_item_set(
            opportunity=opportunity, item=item, actor=request.user, **data.validated_data
        )
        return Response(s.ChecklistCompletionSerializer(completion).data)


class OpportunityRecordViewSet(viewsets.ModelViewSet):
    """Records that hang off an opportunity; written by whoever may edit that opportunity."""

    permission_classes = [HasRole]
    selector = None
    create_service = None

    def get_queryset(self):
        return type(self).selector(user=self.request.user)

    def get_serializer(self, *args, **kwargs):
        serializer = super().get_serializer(*args, **kwargs)
        field = serializer.fields.get("opportunity") if hasattr(serializer, "fields") else None
        if field is not None and not field.read_only:
            # An opportunity the caller cannot see does not exist for them.
            field.queryset = selectors.opportunity_list(user=self.request.user)
        return serializer

    def _via(self) -> dict:
        """The API key of the request, for the services that record provenance."""
        return {"via": self.request.auth} if type(self).records_provenance else {}

    records_provenance = True

    def _given(self, serializer) -> dict:
        """The validated data without the provenance fields the request did not send (DRF fills
        in model defaults for fields of a unique constraint, e.g. Activity's source): what was
        not asked for is decided by the service, from who writes."""
        return {
            name: value
            for name, value in serializer.validated_data.items()
            if name not in services.PROVENANCE or name in self.request.data
        }

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(
            actor=self.request.user, **self._given(serializer), **self._via()
        )

    def perform_update(self, serializer):
        serializer.instance = services.opportunity_record_update(
            instance=serializer.instance,
            actor=self.request.user,
            **self._given(serializer),
            **self._via(),
        )

    def perform_destroy(self, instance):
        services.opportunity_record_delete(instance=instance, actor=self.request.user)


class ActivityViewSet(OpportunityRecordViewSet):
    serializer_class = s.ActivitySerializer
    filterset_class = ActivityFilter
    ordering_fields = ["occurred_at", "id"]
    ordering = ["-occurred_at", "-id"]
    selector = staticmethod(selectors.activity_list)
    create_service = staticmethod(services.activity_record)


class EsatResponseViewSet(OpportunityRecordViewSet):
    serializer_class = s.EsatResponseSerializer
    filterset_class = EsatResponseFilter
    ordering_fields = ["received_at", "score", "id"]
    ordering = ["-received_at", "-id"]
    selector = staticmethod(selectors.esat_response_list)
    create_service = staticmethod(services.esat_record)


class ProductGapViewSet(OpportunityRecordViewSet):
    serializer_class = s.ProductGapSerializer
    filterset_class = ProductGapFilter
    ordering_fields = ["created_at", "severity", "id"]
    ordering = ["-created_at", "-id"]
    selector = staticmethod(selectors.product_gap_list)
    create_service = staticmethod(services.product_gap_create)
    records_provenance = False
