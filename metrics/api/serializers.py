"""Output shapes of the metrics API (the inputs are query parameters, see the views)."""

from rest_framework import serializers

from metrics.selectors import API_GROUPINGS


class MetricsQuerySerializer(serializers.Serializer):
    group_by = serializers.ChoiceField(choices=API_GROUPINGS, required=False)


class SummaryFieldsSerializer(serializers.Serializer):
    won_count = serializers.IntegerField()
    lost_count = serializers.IntegerField()
    open_count = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text="won / (won + lost)")
    mttc_days = serializers.FloatField(allow_null=True, help_text="Mean days engaged → won.")
    mttc_median_days = serializers.FloatField(allow_null=True)
    mttc_p90_days = serializers.FloatField(allow_null=True)
    mttl_days = serializers.FloatField(allow_null=True, help_text="Mean days engaged → lost.")
    cycle_days_closed_mean = serializers.FloatField(allow_null=True)
    avg_won_amount = serializers.FloatField(allow_null=True)
    won_amount_total = serializers.FloatField()
    pipeline_amount = serializers.FloatField()
    weighted_pipeline_amount = serializers.FloatField()
    currency = serializers.CharField(
        allow_null=True,
        help_text="ISO code shared by the deals' amounts; null when they have several "
        "(amounts are then added as recorded, never converted) or there are none.",
    )
    mixed_currencies = serializers.BooleanField()
    qualified_out_count = serializers.IntegerField()
    qualified_out_rate = serializers.FloatField(
        allow_null=True, help_text="qualified out / (won + lost + qualified out)"
    )
    mttc_count = serializers.IntegerField(help_text="Won deals behind the MTTC figures.")
    mttl_count = serializers.IntegerField()
    cycle_closed_count = serializers.IntegerField()


class SummaryGroupSerializer(SummaryFieldsSerializer):
    key = serializers.JSONField(
        allow_null=True,
        help_text="Owner or team id, product, use case, segment code, or YYYY-MM; null for none.",
    )
    label = serializers.CharField()


class SummarySerializer(SummaryFieldsSerializer):
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    group_by = serializers.CharField(allow_null=True)
    groups = SummaryGroupSerializer(many=True, required=False)


class FunnelStageSerializer(serializers.Serializer):
    stage_id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    kind = serializers.CharField()
    entered = serializers.IntegerField(help_text="Deals that entered the stage in the period.")
    converted = serializers.IntegerField(
        allow_null=True, help_text="Of those, deals that later entered a later open stage or won."
    )
    conversion_rate = serializers.FloatField(allow_null=True)


class TimeInStageSerializer(serializers.Serializer):
    stage_id = serializers.IntegerField()
    name = serializers.CharField()
    position = serializers.IntegerField()
    target_days = serializers.IntegerField(allow_null=True)
    completed_visits = serializers.IntegerField(help_text="Visits that ended in the period.")
    mean_days = serializers.FloatField(allow_null=True)
    median_days = serializers.FloatField(allow_null=True)
    p90_days = serializers.FloatField(allow_null=True)
    open_visits = serializers.IntegerField(help_text="Deals in the stage now.")
    open_age_mean_days = serializers.FloatField(allow_null=True)
    open_age_max_days = serializers.FloatField(allow_null=True)
    open_over_target = serializers.IntegerField()


class StageMetricsSerializer(serializers.Serializer):
    process = serializers.IntegerField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)


class FunnelSerializer(StageMetricsSerializer):
    stages = FunnelStageSerializer(many=True)


class TimeInStageListSerializer(StageMetricsSerializer):
    stages = TimeInStageSerializer(many=True)
