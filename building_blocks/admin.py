from django.contrib import admin

from building_blocks.models import (
    BlockEvent,
    BlockUsage,
    BlockVersion,
    BuildingBlock,
    BusinessChallenge,
    ChallengeNeedLink,
    DiscoveryLink,
    Tag,
    TechnicalNeed,
    TrainingCompletion,
    TrainingPath,
    TrainingStep,
)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "slug")
    list_filter = ("kind",)
    search_fields = ("name", "slug")


class BlockVersionInline(admin.TabularInline):
    model = BlockVersion
    extra = 0
    fields = ("number", "title", "status", "note", "created_at", "created_by")
    readonly_fields = fields
    can_delete = False
    show_change_link = False


@admin.register(BuildingBlock)
class BuildingBlockAdmin(admin.ModelAdmin):
    """Read-mostly: content and lifecycle change through the curator pages, which version and
    log every step; the admin is for looking things up."""

    list_display = ("title", "kind", "status", "owner", "version", "review_due", "updated_at")
    list_filter = ("status", "kind", "tags")
    search_fields = ("title", "summary")
    readonly_fields = (
        "status",
        "version",
        "published_at",
        "reviewer",
        "file_name",
        "file_type",
        "file_size",
        "created_at",
        "updated_at",
    )
    filter_horizontal = ("tags", "needs")
    inlines = [BlockVersionInline]

    def has_add_permission(self, request):
        return False


@admin.register(BlockEvent)
class BlockEventAdmin(admin.ModelAdmin):
    list_display = ("at", "code", "block", "actor")
    list_filter = ("code",)
    list_select_related = ("block", "actor")


@admin.register(BlockUsage)
class BlockUsageAdmin(admin.ModelAdmin):
    list_display = ("at", "block", "opportunity", "stage", "user")
    list_select_related = ("block", "opportunity", "stage", "user")
    raw_id_fields = ("block", "opportunity")


class ChallengeNeedLinkInline(admin.TabularInline):
    model = ChallengeNeedLink
    fk_name = "challenge"
    extra = 0


@admin.register(BusinessChallenge)
class BusinessChallengeAdmin(admin.ModelAdmin):
    list_display = ("title", "use_case", "position")
    list_filter = ("use_case",)
    prepopulated_fields = {"slug": ("title",)}
    inlines = [ChallengeNeedLinkInline]


@admin.register(TechnicalNeed)
class TechnicalNeedAdmin(admin.ModelAdmin):
    list_display = ("title", "use_case", "area", "position")
    list_filter = ("use_case",)
    prepopulated_fields = {"slug": ("title",)}


@admin.register(ChallengeNeedLink)
class ChallengeNeedLinkAdmin(admin.ModelAdmin):
    list_display = ("challenge", "need", "use_case")
    list_filter = ("use_case",)
    list_select_related = ("challenge", "need")


@admin.register(DiscoveryLink)
class DiscoveryLinkAdmin(admin.ModelAdmin):
    list_display = ("opportunity", "challenge", "need", "direction", "priority")
    list_filter = ("direction",)
    list_select_related = ("opportunity", "challenge", "need")
    raw_id_fields = ("opportunity",)


class TrainingStepInline(admin.TabularInline):
    model = TrainingStep
    extra = 0
    raw_id_fields = ("block",)


@admin.register(TrainingPath)
class TrainingPathAdmin(admin.ModelAdmin):
    list_display = ("name", "role", "position")
    list_filter = ("role",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [TrainingStepInline]


@admin.register(TrainingCompletion)
class TrainingCompletionAdmin(admin.ModelAdmin):
    list_display = ("user", "step", "completed_at")
    list_select_related = ("user", "step", "step__path")
