from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from epos.outbox import TOPICS
from integrations.models import Connection, SyncRun, WebhookSubscription


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


# --- sync connections and runs ----------------------------------------------------------------

_JSON_OBJECT = {"type": "object", "additionalProperties": True}


@extend_schema_field(_JSON_OBJECT)
class JsonObjectField(serializers.JSONField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("Expected a JSON object.")
        return value


class ConnectionInputSerializer(serializers.Serializer):
    system = serializers.ChoiceField(choices=Connection.System.choices)
    adapter = serializers.ChoiceField(choices=Connection.Adapter.choices)
    name = serializers.CharField(max_length=120)
    enabled = serializers.BooleanField(default=True)
    settings = JsonObjectField(default=dict)
    credentials = JsonObjectField(
        required=False, help_text="Write-only: stored encrypted, never returned."
    )


class ConnectionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    enabled = serializers.BooleanField(required=False)
    settings = JsonObjectField(required=False)
    credentials = JsonObjectField(
        required=False, help_text="Write-only: replaces the stored credentials when given."
    )


class ConnectionSerializer(serializers.ModelSerializer):
    settings = JsonObjectField(read_only=True)

    class Meta:
        model = Connection
        fields = [
            "id",
            "system",
            "adapter",
            "name",
            "enabled",
            "settings",
            "has_credentials",
            "status",
            "status_message",
            "cursor",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SyncRunSerializer(serializers.ModelSerializer):
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="created, updated, unchanged, skipped, failed",
    )
    errors = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text="[{row or item, reason}]: each row that failed, with its line",
    )

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "connection",
            "status",
            "trigger",
            "created_at",
            "started_at",
            "finished_at",
            "counts",
            "errors",
            "message",
            "cursor_before",
            "cursor_after",
        ]
        read_only_fields = fields


class SyncRequestedSerializer(serializers.Serializer):
    run = SyncRunSerializer()
    created = serializers.BooleanField(
        help_text="False when a run of this connection was already queued or running"
    )


class ConnectionTestSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
