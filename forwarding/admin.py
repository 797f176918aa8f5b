"""Django admin for forwarding: read-only. Every change must go through
forwarding.rules.services (validation, version, audit row, push), which the admin's own save
would bypass; the admin is for looking, the portal pages are for changing."""

from django.contrib import admin

from forwarding.models import CallerRule, ForwardingSettings


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CallerRuleInline(ReadOnlyMixin, admin.TabularInline):
    model = CallerRule
    extra = 0
    fields = ("position", "callers", "match_anonymous", "destination", "disposition",
              "mask_caller", "mask_callee")
    readonly_fields = fields


@admin.register(ForwardingSettings)
class ForwardingSettingsAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("person", "org", "version", "synced_version", "sync_status",
                    "updated_at", "updated_by_label")
    list_filter = ("sync_status", "person__org")
    search_fields = ("person__display_name", "person__email", "person__phone_number")
    list_select_related = ("person__org",)
    inlines = [CallerRuleInline]

    @admin.display(ordering="person__org__name")
    def org(self, obj):
        return obj.person.org
