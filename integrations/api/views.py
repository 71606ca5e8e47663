from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from epos.lib.permissions import HasRole
from epos.models import ApiKey
from epos.outbox import TOPICS
from integrations.api import serializers as s
from integrations.models import WebhookSubscription
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
