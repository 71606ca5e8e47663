"""Input and output serializers are separate: outputs describe, inputs validate."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    Contact,
    EsatResponse,
    Opportunity,
    ProductGap,
    StageTransition,
    Team,
)
from stages.models import Process, Stage

User = get_user_model()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField(source="get_full_name")


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StageRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    position = serializers.IntegerField()


# --- accounts and contacts ------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "industry",
            "segment",
            "customer_type",
            "ownership",
            "employees",
            "country",
            "city",
            "domain",
            "has_own_infrastructure",
            "business_context",
            "team",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "name",
            "email",
            "title",
            "level",
            "is_decision_maker",
            "is_champion",
        ]
        read_only_fields = ["id"]


# --- opportunities --------------------------------------------------------------------------


class OpportunityOutputSerializer(serializers.ModelSerializer):
    account = NamedRefSerializer(allow_null=True)
    stage = StageRefSerializer()
    owner = UserRefSerializer(allow_null=True)
    account_executive = UserRefSerializer(allow_null=True)
    team = NamedRefSerializer(allow_null=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "account",
            "process",
            "stage",
            "owner",
            "account_executive",
            "team",
            "amount",
            "currency",
            "product",
            "use_case",
            "source",
            "approach",
            "expected_close_date",
            "created_at",
            "engaged_at",
            "stage_entered_at",
            "closed_at",
            "outcome",
            "loss_reason",
            "version",
            "updated_at",
        ]
        read_only_fields = fields


# Built once per process: building a ModelSerializer's fields (model introspection and deep
# copies) costs ten times the representation of one deal. Its fields keep no state between
# calls and ask for no request context, so every request may share them.
_OPPORTUNITY_OUTPUT = OpportunityOutputSerializer()


def opportunity_output(opportunity: Opportunity) -> dict:
    """What `OpportunityOutputSerializer(opportunity).data` holds, for one deal."""
    return _OPPORTUNITY_OUTPUT.to_representation(opportunity)


class OpportunityCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    process = serializers.PrimaryKeyRelatedField(queryset=Process.objects.all())
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(), required=False, allow_null=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    account_executive = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    currency = serializers.CharField(max_length=3, default="USD")
    product = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    use_case = serializers.ChoiceField(
        choices=Opportunity.UseCase.choices, default=Opportunity.UseCase.OTHER
    )
    source = serializers.ChoiceField(
        choices=Opportunity.Source.choices, required=False, allow_blank=True, default=""
    )
    approach = serializers.ChoiceField(
        choices=Opportunity.Approach.choices, required=False, allow_blank=True, default=""
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class OpportunityUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(), required=False, allow_null=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    account_executive = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    currency = serializers.CharField(max_length=3, required=False)
    product = serializers.CharField(max_length=80, required=False, allow_blank=True)
    use_case = serializers.ChoiceField(choices=Opportunity.UseCase.choices, required=False)
    source = serializers.ChoiceField(
        choices=Opportunity.Source.choices, required=False, allow_blank=True
    )
    approach = serializers.ChoiceField(
        choices=Opportunity.Approach.choices, required=False, allow_blank=True
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    expected_version = serializers.IntegerField(required=False, min_value=1)


class MoveInputSerializer(serializers.Serializer):
    # An id: the move service reads it with the process's stages (one query, not two).
    stage = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )
    loss_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    qualified_out = serializers.BooleanField(required=False, default=False)
    expected_version = serializers.IntegerField(required=False, min_value=1, allow_null=True)


class UnmetItemSerializer(serializers.Serializer):
    """A required item a move left open (`stages.rules.Judgement.unmet_payload`)."""

    id = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    stage_id = serializers.IntegerField()
    stage = serializers.CharField()


class MoveConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    unmet_items = UnmetItemSerializer(many=True)
    current_version = serializers.IntegerField(required=False)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TransitionSerializer(serializers.ModelSerializer):
    from_stage = StageRefSerializer(allow_null=True)
    to_stage = StageRefSerializer()
    moved_by = UserRefSerializer(allow_null=True)

    class Meta:
        model = StageTransition
        fields = [
            "id",
            "from_stage",
            "to_stage",
            "moved_at",
            "moved_by",
            "note",
            "override_reason",
            "unmet_items",
        ]
        read_only_fields = fields


class ChecklistInputSerializer(serializers.Serializer):
    done = serializers.BooleanField()
    evidence_url = serializers.URLField(
        required=False, allow_blank=True, default="", max_length=500
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ChecklistCompletionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistCompletion
        fields = ["id", "opportunity", "item", "done", "done_at", "done_by", "evidence_url", "note"]
        read_only_fields = fields


# --- records on an opportunity --------------------------------------------------------------


class ActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id",
            "opportunity",
            "kind",
            "occurred_at",
            "duration_minutes",
            "summary",
            "source",
            "external_id",
            "created_by",
        ]
        read_only_fields = ["id", "created_by"]
        extra_kwargs = {"occurred_at": {"required": False}}


class EsatResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = EsatResponse
        fields = [
            "id",
            "opportunity",
            "stage",
            "score",
            "comment",
            "respondent_email",
            "received_at",
            "source",
        ]
        read_only_fields = ["id"]
        extra_kwargs = {"received_at": {"required": False}, "stage": {"required": False}}


class ProductGapSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductGap
        fields = [
            "id",
            "opportunity",
            "title",
            "description",
            "severity",
            "status",
            "created_at",
            "created_by",
        ]
        read_only_fields = ["id", "created_at", "created_by"]
