from django.contrib import admin

from metrics.models import MetricSnapshot, Pilot, Quota


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "period_start", "period_end", "target")
    list_filter = ("kind", "period_start")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)


@admin.register(Pilot)
class PilotAdmin(admin.ModelAdmin):
    list_display = ("name", "process", "baseline_process", "starts_on", "ends_on", "rolled_out_at")
    list_filter = ("process", "baseline_process")
    search_fields = ("name", "hypothesis")
    filter_horizontal = ("members",)
    # Rolling out changes which process version is active: only through the pilot page.
    readonly_fields = ("created_by", "created_at", "rolled_out_at", "rolled_out_by")


@admin.register(MetricSnapshot)
class MetricSnapshotAdmin(admin.ModelAdmin):
    """Written by the daily task; read-only here so the history stays what it was."""

    list_display = ("day", "process", "stage", "team", "open_count", "pipeline_amount")
    list_filter = ("process", "day")
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
