from django.contrib import admin

from stages import services
from stages.models import Process, Stage, StageItem, Tool


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = [
        "position",
        "name",
        "slug",
        "kind",
        "phase",
        "probability",
        "target_days",
        "starts_clock",
    ]
    show_change_link = True


class StageItemInline(admin.TabularInline):
    model = StageItem
    extra = 0


@admin.register(Process)
class ProcessAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "slug", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug"]
    inlines = [StageInline]
    actions = ["activate"]

    @admin.action(description="Activate the selected version (retires the version in use)")
    def activate(self, request, queryset):
        for process in queryset:
            services.process_activate(process=process, actor=request.user)
        self.message_user(request, f"Activated {queryset.count()} process version(s).")


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "process", "position", "kind", "phase", "probability", "target_days"]
    list_filter = ["process", "kind", "phase"]
    list_select_related = ["process"]
    inlines = [StageItemInline]
    filter_horizontal = ["tools"]


@admin.register(StageItem)
class StageItemAdmin(admin.ModelAdmin):
    list_display = ["title", "stage", "kind", "required", "evidence_event"]
    list_filter = ["kind", "required", "evidence_event", "stage__process"]
    list_select_related = ["stage"]


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "url"]
    prepopulated_fields = {"slug": ["name"]}
