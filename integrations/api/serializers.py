from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from epos.outbox import TOPICS
from integrations.models import WebhookSubscription


class HookInputSerializer(serializers.Serializer):
    target_url = serializers.CharField(max_length=2000)
    event = serializers.ChoiceField(choices=TOPICS)


class HookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "target_url", "event", "status", "created_at"]


class HookCreatedSerializer(HookSerializer):
    secret = serializers.SerializerMethodField(
        help_text="The signing secret (Standard Webhooks, whsec_…); shown only in this answer."
    )

    class Meta(HookSerializer.Meta):
        fields = [*HookSerializer.Meta.fields, "secret"]

    def get_secret(self, subscription) -> str:
        return self.context["secret"]


class EventSerializer(serializers.Serializer):
    """The same object a webhook delivery POSTs."""

    id = serializers.IntegerField(source="pk")
    type = serializers.CharField(source="topic")
    timestamp = serializers.DateTimeField(source="created_at")
    data = serializers.SerializerMethodField()

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_data(self, message) -> dict:
        return message.payload
