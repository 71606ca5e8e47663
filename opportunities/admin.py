from django.contrib import admin

from opportunities import models
from opportunities.automation import rule_preview
from stages.admin import StageItemAdmin
from stages.models import StageItem


@admin.register(models.Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "region"]
    filter_horizontal = ["members", "managers"]


class ContactInline(admin.TabularInline):
    model = models.Contact
    extra = 0


@admin.register(models.Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "industry", "segment", "country", "employees"]
    list_filter = ["segment", "industry", "ownership"]
    search_fields = ["name"]
    inlines = [ContactInline]


@admin.register(models.Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "title", "level", "is_decision_maker"]
    list_select_related = ["account"]
    search_fields = ["name", "email"]


class TransitionInline(admin.TabularInline):
    model = models.StageTransition
    extra = 0
    can_delete = False
    readonly_fields = ["from_stage", "to_stage", "moved_at", "moved_by", "note", "override_reason"]
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(models.Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    """Stage, outcome and dates are read-only here: they change only through a move."""

    list_display = ["name", "account", "process", "stage", "owner", "amount", "outcome"]
    list_filter = ["process", "outcome", "use_case", "source"]
    list_select_related = ["account", "process", "stage", "owner"]
    search_fields = ["name", "account__name"]
    raw_id_fields = ["account", "owner", "account_executive"]
    readonly_fields = [
        "process",
        "stage",
        "outcome",
        "created_at",
        "engaged_at",
        "stage_entered_at",
        "closed_at",
        "loss_reason",
        "version",
    ]
    inlines = [TransitionInline]

    def has_add_permission(self, request):
        return False


@admin.register(models.StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    list_display = ["opportunity", "from_stage", "to_stage", "moved_at", "moved_by"]
    list_select_related = ["opportunity", "from_stage", "to_stage", "moved_by"]
    raw_id_fields = ["opportunity"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(models.ChecklistCompletion)
class ChecklistCompletionAdmin(admin.ModelAdmin):
    list_display = ["opportunity", "item", "done", "done_at", "done_by"]
    list_select_related = ["opportunity", "item", "done_by"]
    raw_id_fields = ["opportunity", "item"]


@admin.register(models.Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["opportunity", "kind", "occurred_at", "source"]
    list_filter = ["kind", "source"]
    list_select_related = ["opportunity"]
    raw_id_fields = ["opportunity"]


@admin.register(models.Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ["opportunity", "score", "verdict"]
    list_select_related = ["opportunity"]
    raw_id_fields = ["opportunity"]


@admin.register(models.ProductGap)
class ProductGapAdmin(admin.ModelAdmin):
    list_display = ["title", "opportunity", "severity", "status"]
    list_filter = ["severity", "status"]
    list_select_related = ["opportunity"]
    raw_id_fields = ["opportunity"]


@admin.register(models.EsatResponse)
class EsatResponseAdmin(admin.ModelAdmin):
    list_display = ["opportunity", "stage", "score", "received_at", "source"]
    list_select_related = ["opportunity", "stage"]
    raw_id_fields = ["opportunity"]


# The stage item's admin, with what its evidence rule would have done (opportunities.automation
# reads the deals, which the stages app below may not).
admin.site.unregister(StageItem)


@admin.register(StageItem)
class StageItemEvidenceAdmin(StageItemAdmin):
    readonly_fields = ["evidence_preview"]

    @admin.display(description="Evidence rule, last 90 days")
    def evidence_preview(self, item) -> str:
        """What the saved rule would have done: curators edit the rule, save, and read this."""
        if item.pk is None or not item.evidence_event:
            return "No evidence rule: the item is ticked by hand."
        deals = rule_preview(item)
        return f"Would have completed this item on {deals} open deal(s) in the last 90 days."
