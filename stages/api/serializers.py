from rest_framework import serializers

from stages.models import Process, Stage, StageItem, Tool


class ToolSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tool
        fields = ["id", "name", "slug", "url", "description"]


class StageItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageItem
        fields = ["id", "position", "kind", "title", "description", "required"]


class StageSerializer(serializers.ModelSerializer):
    items = StageItemSerializer(many=True, read_only=True)
    tools = ToolSerializer(many=True, read_only=True)

    class Meta:
        model = Stage
        fields = [
            "id",
            "position",
            "name",
            "slug",
            "kind",
            "phase",
            "goal",
            "guidance",
            "probability",
            "target_days",
            "is_optional",
            "starts_clock",
            "items",
            "tools",
        ]


class ProcessSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Process
        fields = [
            "id",
            "name",
            "slug",
            "version",
            "status",
            "based_on",
            "description",
            "created_at",
            "stages",
        ]
