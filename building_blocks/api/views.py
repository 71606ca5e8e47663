from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from building_blocks import selectors, services
from building_blocks.api import serializers as s
from building_blocks.filters import BlockFilter
from epos.lib.permissions import HasRole
from opportunities import selectors as opportunity_selectors

LIST_PARAMETERS = [
    OpenApiParameter(
        "sort",
        str,
        enum=list(selectors.SORTS),
        description="relevance (default with q), title, newest, popular, review_due",
    )
]


@extend_schema_view(
    list=extend_schema(parameters=LIST_PARAMETERS),
    create=extend_schema(request=s.BlockInputSerializer, responses={201: s.BlockOutputSerializer}),
    update=extend_schema(request=s.BlockInputSerializer, responses=s.BlockOutputSerializer),
    partial_update=extend_schema(request=s.BlockInputSerializer, responses=s.BlockOutputSerializer),
)
class BuildingBlockViewSet(viewsets.ModelViewSet):
    """Building blocks the caller may read (SAs and managers: published only).

    `q` is a full-text search (PostgreSQL, ranked; a simple match on SQLite); curators create,
    edit and move blocks through their lifecycle.
    """

    permission_classes = [HasRole]
    serializer_class = s.BlockOutputSerializer
    filterset_class = BlockFilter
    filter_backends = [DjangoFilterBackend]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.block_list(user=self.request.user).prefetch_related("tags", "needs")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        return selectors.order_blocks(
            queryset, sort=params.get("sort", ""), text=params.get("q", "")
        )

    def _output(self, block, code=status.HTTP_200_OK):
        fresh = selectors.block_get(user=self.request.user, pk=block.pk)
        return Response(s.BlockOutputSerializer(fresh).data, status=code)

    def _input(self, partial=False) -> dict:
        data = s.BlockInputSerializer(data=self.request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def create(self, request, *args, **kwargs):
        values = self._input()
        for name in ("remove_file", "note", "expected_version"):
            values.pop(name, None)
        try:
            block = services.block_create(actor=request.user, **values)
        except DjangoValidationError as error:
            raise ValidationError(
                error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
            ) from error
        return self._output(block, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        block = self.get_object()
        values = self._input(partial=kwargs.get("partial", False) or request.method == "PATCH")
        try:
            block = services.block_update(
                block=block,
                actor=request.user,
                expected_version=values.pop("expected_version", None),
                note=values.pop("note", ""),
                remove_file=values.pop("remove_file", False),
                review_due=values.pop("review_due", "unchanged"),
                **values,
            )
        except DjangoValidationError as error:
            raise ValidationError(
                error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
            ) from error
        return self._output(block)

    def perform_destroy(self, instance):
        services.block_delete(block=instance, actor=self.request.user)

    def _lifecycle(self, service, **arguments):
        block = service(block=self.get_object(), actor=self.request.user, **arguments)
        return self._output(block)

    @extend_schema(request=None, responses=s.BlockOutputSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._lifecycle(services.block_submit)

    @extend_schema(request=s.CommentInputSerializer, responses=s.BlockOutputSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = s.CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._lifecycle(services.block_approve, comment=data.validated_data["comment"])

    @extend_schema(request=s.CommentInputSerializer, responses=s.BlockOutputSerializer)
    @action(detail=True, methods=["post"], url_path="send-back", url_name="send-back")
    def send_back(self, request, pk=None):
        data = s.CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._lifecycle(services.block_send_back, comment=data.validated_data["comment"])

    @extend_schema(request=s.CommentInputSerializer, responses=s.BlockOutputSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        data = s.CommentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._lifecycle(services.block_archive, comment=data.validated_data["comment"])

    @extend_schema(responses=s.EffectivenessSerializer)
    @action(detail=True, methods=["get"])
    def effectiveness(self, request, pk=None):
        figures = selectors.block_effectiveness(block=self.get_object(), user=request.user)
        return Response(
            s.EffectivenessSerializer(
                {
                    "uses": figures.uses,
                    "with_block": figures.with_block,
                    "without_block": figures.without_block,
                    "stage_names": figures.stage_names,
                    "small_sample": figures.small_sample,
                }
            ).data
        )

    @extend_schema(methods=["GET"], request=None, responses=s.UsageOutputSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=s.UsageInputSerializer,
        responses={201: s.UsageOutputSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def usages(self, request, pk=None):
        block = self.get_object()
        if request.method == "GET":
            usages, _ = selectors.block_usages_for(block=block, user=request.user, limit=200)
            return Response(s.UsageOutputSerializer(usages, many=True).data)
        data = s.UsageInputSerializer(data=request.data)
        # An opportunity the caller cannot see does not exist for them.
        data.fields["opportunity"].queryset = opportunity_selectors.opportunity_list(
            user=request.user
        )
        data.is_valid(raise_exception=True)
        usage = services.block_usage_record(
            block=block, opportunity=data.validated_data["opportunity"], actor=request.user
        )
        return Response(s.UsageOutputSerializer(usage).data, status=status.HTTP_201_CREATED)
