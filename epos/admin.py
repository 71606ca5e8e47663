from django.contrib import admin

from epos.models import ApiKey, ExternalRef, OutboxMessage


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "digest", "created_at", "last_used_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        # A key made here would never show its raw value; use the command or the profile page.
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["topic", "created_at", "dispatched_at", "attempts"]
    list_filter = ["topic"]
    readonly_fields = ["topic", "payload", "created_at", "dispatched_at", "attempts", "last_error"]


@admin.register(ExternalRef)
class ExternalRefAdmin(admin.ModelAdmin):
    list_display = ["system", "kind", "external_id", "content_type", "object_id", "updated_at"]
    list_filter = ["system", "kind"]
    search_fields = ["external_id"]
    list_select_related = ["content_type"]
