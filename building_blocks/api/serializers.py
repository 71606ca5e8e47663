"""Input and output serializers are separate: outputs describe, inputs validate."""

import functools

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from building_blocks.models import BlockUsage, BuildingBlock, Tag, TechnicalNeed
from building_blocks.uploads import ALLOWED_LABEL, MAX_UPLOAD_BYTES, check_upload
from opportunities.models import Opportunity

_PLACEHOLDER = 987654321


@functools.cache
def _url_pattern(name: str) -> str:
    # reverse() per row costs more than the rest of a row's fields together.
    return reverse(name, args=[_PLACEHOLDER]).replace(str(_PLACEHOLDER), "{}")


def block_url(name: str, pk: int) -> str:
    return _url_pattern(name).format(pk)


TAG_GROUPS = {
    "stages": Tag.Kind.STAGE,
    "use_cases": Tag.Kind.USE_CASE,
    "industries": Tag.Kind.INDUSTRY,
    "products": Tag.Kind.PRODUCT,
}


class TagRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class BlockTagsSerializer(serializers.Serializer):
    stages = TagRefSerializer(many=True)
    use_cases = TagRefSerializer(many=True)
    industries = TagRefSerializer(many=True)
    products = TagRefSerializer(many=True)


class BlockFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="Permission-checked download URL")


class BlockOwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


class BlockOutputSerializer(serializers.ModelSerializer):
    owner = BlockOwnerSerializer(allow_null=True)
    tags = serializers.SerializerMethodField()
    needs = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()

    class Meta:
        model = BuildingBlock
        fields = [
            "id",
            "title",
            "kind",
            "summary",
            "body",
            "status",
            "owner",
            "reviewer",
            "published_at",
            "review_due",
            "version",
            "external_url",
            "file",
            "tags",
            "needs",
            "created_at",
            "updated_at",
            "html_url",
        ]

    @extend_schema_field(BlockTagsSerializer)
    def get_tags(self, block) -> dict:
        groups = {name: [] for name in TAG_GROUPS}
        kinds = {kind: name for name, kind in TAG_GROUPS.items()}
        for tag in block.tags.all():
            groups[kinds[tag.kind]].append({"slug": tag.slug, "name": tag.name})
        return groups

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_needs(self, block) -> list[str]:
        return [need.slug for need in block.needs.all()]

    @extend_schema_field(BlockFileSerializer(allow_null=True))
    def get_file(self, block):
        if not block.file:
            return None
        return {
            "name": block.file_name,
            "type": block.file_type,
            "size": block.file_size,
            "url": block_url("building_blocks:block-file", block.pk),
        }

    @extend_schema_field(OpenApiTypes.STR)
    def get_html_url(self, block) -> str:
        return block_url("building_blocks:block-detail", block.pk)


@extend_schema_field(
    {
        "type": "string",
        "description": "One of: " + ", ".join(BuildingBlock.Kind.values),
        "example": "demo_script",
    }
)
class KindInputField(serializers.ChoiceField):
    """The kind, documented as a plain string: as an enum its name would collide with the other
    `kind` enums of the schema (drf-spectacular warns) unless settings name it."""


class _SlugList(serializers.ListField):
    child = serializers.CharField(max_length=120)


class BlockInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = KindInputField(choices=BuildingBlock.Kind.choices)
    summary = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    external_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    file = serializers.FileField(
        required=False,
        help_text=f"Multipart upload. {ALLOWED_LABEL}; at most "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB; checked by content.",
    )
    remove_file = serializers.BooleanField(required=False, default=False)
    stages = _SlugList(required=False, help_text="Stage slugs, e.g. discovery")
    use_cases = _SlugList(required=False)
    industries = _SlugList(required=False, help_text="Industry names or slugs")
    products = _SlugList(required=False, help_text="Product names or slugs")
    needs = serializers.SlugRelatedField(
        slug_field="slug", queryset=TechnicalNeed.objects.all(), many=True, required=False
    )
    review_due = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    expected_version = serializers.IntegerField(required=False)

    def validate_file(self, upload):
        check_upload(upload)  # a django ValidationError becomes a 400 on the field
        return upload


class CommentInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class UsageInputSerializer(serializers.Serializer):
    opportunity = serializers.PrimaryKeyRelatedField(queryset=Opportunity.objects.none())


class UsageOutputSerializer(serializers.ModelSerializer):
    stage = serializers.SerializerMethodField()
    opportunity_name = serializers.CharField(source="opportunity.name")

    class Meta:
        model = BlockUsage
        fields = ["id", "block", "opportunity", "opportunity_name", "stage", "user", "at"]

    @extend_schema_field(TagRefSerializer)
    def get_stage(self, usage) -> dict:
        return {"slug": usage.stage.slug, "name": usage.stage.name}


class GroupFiguresSerializer(serializers.Serializer):
    deals = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    closed = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    mttc_days = serializers.FloatField(allow_null=True)


class EffectivenessSerializer(serializers.Serializer):
    uses = serializers.IntegerField()
    with_block = GroupFiguresSerializer()
    without_block = GroupFiguresSerializer()
    stage_names = serializers.ListField(child=serializers.CharField())
    small_sample = serializers.BooleanField()
