"""GET-only metrics endpoints. Figures cover the opportunities the caller may see, filtered like
the opportunity list; `closed_after` / `closed_before` set the period."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from epos.lib.permissions import HasRole
from metrics import selectors
from metrics.api import serializers as s

DAYS_DIGITS = 4


def _round(value, digits=DAYS_DIGITS):
    return None if value is None else round(value, digits)


FILTER_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.INT, description=f"{name} id")
    for name in ("process", "stage", "owner", "team", "account")
] + [
    OpenApiParameter("outcome", OpenApiTypes.STR, enum=["open", "won", "lost", "qualified_out"]),
    OpenApiParameter(
        "use_case", OpenApiTypes.STR, enum=["observability", "security", "search", "other"]
    ),
    OpenApiParameter(
        "source",
        OpenApiTypes.STR,
        enum=["inbound", "outbound", "target_abm", "referral", "partner"],
    ),
    OpenApiParameter("segment", OpenApiTypes.STR, enum=["smb", "mid_market", "enterprise"]),
    OpenApiParameter("product", OpenApiTypes.STR),
    OpenApiParameter("search", OpenApiTypes.STR),
    OpenApiParameter("created_after", OpenApiTypes.DATETIME),
    OpenApiParameter("created_before", OpenApiTypes.DATETIME),
    OpenApiParameter(
        "closed_after",
        OpenApiTypes.DATETIME,
        description="Period start, inclusive (a date means midnight). Closed-deal figures count "
        "deals closed in the period; stage figures count entries and exits in it.",
    ),
    OpenApiParameter("closed_before", OpenApiTypes.DATETIME, description="Period end, exclusive."),
]


def _summary_fields(row: dict) -> dict:
    result = dict(row)
    for name in (
        "mttc_days",
        "mttc_median_days",
        "mttc_p90_days",
        "mttl_days",
        "cycle_days_closed_mean",
        "win_rate",
        "qualified_out_rate",
    ):
        result[name] = _round(result[name])
    return result


class MetricsView(APIView):
    permission_classes = [HasRole]

    def scope(self, request):
        return selectors.metric_scope(user=request.user, params=request.query_params)


class SummaryView(MetricsView):
    @extend_schema(
        operation_id="metrics_summary",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(selectors.API_GROUPINGS)),
        ],
        responses=s.SummarySerializer,
    )
    def get(self, request):
        query = s.MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        scope = self.scope(request)
        body = _summary_fields(selectors.summary(scope=scope))
        group_by = query.validated_data.get("group_by")
        body.update(period_start=scope.period.start, period_end=scope.period.end, group_by=group_by)
        if group_by:
            body["groups"] = [
                _summary_fields(group)
                for group in selectors.summary_by(scope=scope, group_by=group_by)
            ]
        return Response(s.SummarySerializer(body).data)


class FunnelView(MetricsView):
    @extend_schema(
        operation_id="metrics_funnel",
        parameters=FILTER_PARAMETERS,
        responses=s.FunnelSerializer,
    )
    def get(self, request):
        scope = self.scope(request)
        flows = selectors.funnel(scope=scope)
        stages = [
            {
                "stage_id": flow.stage.pk,
                "name": flow.stage.name,
                "position": flow.stage.position,
                "kind": flow.stage.kind,
                "entered": flow.entered,
                "converted": flow.converted if flow.stage.kind == "open" else None,
                "conversion_rate": _round(flow.conversion_rate)
                if flow.stage.kind == "open"
                else None,
            }
            for flow in flows
        ]
        body = {
            "process": scope.process.pk,
            "period_start": scope.period.start,
            "period_end": scope.period.end,
            "stages": stages,
        }
        return Response(s.FunnelSerializer(body).data)


class TimeInStageView(MetricsView):
    @extend_schema(
        operation_id="metrics_time_in_stage",
        parameters=FILTER_PARAMETERS,
        responses=s.TimeInStageListSerializer,
    )
    def get(self, request):
        scope = self.scope(request)
        flows = selectors.time_in_stage(scope=scope)
        stages = [
            {
                "stage_id": flow.stage.pk,
                "name": flow.stage.name,
                "position": flow.stage.position,
                "target_days": flow.stage.target_days,
                "completed_visits": flow.completed_visits,
                "mean_days": _round(flow.mean_days),
                "median_days": _round(flow.median_days),
                "p90_days": _round(flow.p90_days),
                "open_visits": flow.open_visits,
                "open_age_mean_days": _round(flow.open_age_mean_days),
                "open_age_max_days": _round(flow.open_age_max_days),
                "open_over_target": flow.open_over_target,
            }
            for flow in flows
        ]
        body = {
            "process": scope.process.pk,
            "period_start": scope.period.start,
            "period_end": scope.period.end,
            "stages": stages,
        }
        return Response(s.TimeInStageListSerializer(body).data)
