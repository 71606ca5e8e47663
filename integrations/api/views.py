from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from epos.lib.permissions import HasRole
from epos.lib.roles import is_admin
from epos.models import ApiKey
from epos.outbox import TOPICS
from integrations.api import serializers as s
from integrations.filters import SyncRunFilter
from integrations.models import WebhookSubscription
from integrations.sync import selectors as sync_selectors
from integrations.sync import services as sync_services
from integrations.webhooks import selectors, services
from integrations.webhooks.events import events_visible_to


class HookViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """REST-hook subscriptions of the caller (Zapier subscribes and unsubscribes here)."""

    permission_classes = [HasRole]
    serializer_class = s.HookSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        return selectors.subscriptions_of(user=self.request.user)

    @extend_schema(request=s.HookInputSerializer, responses={201: s.HookCreatedSerializer})
    def create(self, request, *args, **kwargs):
        incoming = s.HookInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        subscription, secret = services.webhook_subscribe(
            actor=request.user, api_key=api_key, **incoming.validated_data
        )
        answer = s.HookCreatedSerializer(subscription, context={"secret": secret})
        return Response(answer.data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: OpenApiResponse(description="Gone, or was already gone")})
    def destroy(self, request, *args, **kwargs):
        # Unsubscribing is idempotent: Zapier retries it, and a second call must not fail.
        subscription = WebhookSubscription.objects.filter(
            pk=self.kwargs["pk"], user=request.user
        ).first()
        if subscription is not None:
            services.webhook_unsubscribe(actor=request.user, subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """Events the caller may see, newest first: Zapier's perform-list and de-duplication."""

    permission_classes = [HasRole]
    serializer_class = s.EventSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]{1,18}"

    @extend_schema(
        parameters=[OpenApiParameter("type", str, enum=list(TOPICS), description="Event type")]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        topic = self.request.query_params.get("type") or None
        if topic is not None and topic not in TOPICS:
            raise ValidationError(
                {"type": [f"Unknown event type; expected one of {', '.join(TOPICS)}."]}
            )
        return events_visible_to(self.request.user, topic=topic)


# --- sync connections and runs ----------------------------------------------------------------


class IsEposAdmin(BasePermission):
    message = "Only admins manage connections."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and is_admin(request.user))


class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Connections to Vivun and Google Workspace (admins only); credentials are write-only."""

    permission_classes = [IsEposAdmin]
    serializer_class = s.ConnectionSerializer
    filter_backends = []
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return sync_selectors.connections_list()

    @extend_schema(request=s.ConnectionInputSerializer, responses={201: s.ConnectionSerializer})
    def create(self, request, *args, **kwargs):
        incoming = s.ConnectionInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        connection = sync_services.connection_create(actor=request.user, **incoming.validated_data)
        return Response(s.ConnectionSerializer(connection).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ConnectionUpdateSerializer, responses={200: s.ConnectionSerializer})
    def partial_update(self, request, *args, **kwargs):
        incoming = s.ConnectionUpdateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        connection = sync_services.connection_update(
            actor=request.user, connection=self.get_object(), **incoming.validated_data
        )
        return Response(s.ConnectionSerializer(connection).data)

    def destroy(self, request, *args, **kwargs):
        sync_services.connection_delete(actor=request.user, connection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: s.SyncRequestedSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, *args, **kwargs):
        """Sync now: queue a run, or answer with the one already queued or running."""
        run, created = sync_services.sync_request(actor=request.user, connection=self.get_object())
        answer = s.SyncRequestedSerializer({"run": run, "created": created})
        return Response(answer.data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: s.ConnectionTestSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, *args, **kwargs):
        """Try the connection; a plain-words result (a failure marks it as needing attention)."""
        ok, message = sync_services.connection_test(
            actor=request.user, connection=self.get_object()
        )
        return Response(s.ConnectionTestSerializer({"ok": ok, "message": message}).data)


class SyncRunViewSet(viewsets.ReadOnlyModelViewSet):
    """The run log, newest first; `?connection=<id>` narrows it to one connection."""

    permission_classes = [IsEposAdmin]
    serializer_class = s.SyncRunSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = SyncRunFilter
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return sync_selectors.sync_runs_list()
