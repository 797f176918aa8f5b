from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.models import AuditEvent, Delegation, Invitation, Membership, Organization, Person, User

admin.site.register(User, UserAdmin)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "provider_kind", "provider_org_id", "default_region"]
    # Credentials are encrypted and never shown back; set them through the shell or seed.
    exclude = ["credentials"]
    search_fields = ["name", "provider_org_id"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role"]
    list_filter = ["role", "org"]
    list_select_related = ["user", "org"]


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["display_name", "org", "email", "phone_number", "provider_person_id"]
    list_filter = ["org"]
    search_fields = ["display_name", "email", "phone_number", "provider_person_id"]
    list_select_related = ["org"]
    raw_id_fields = ["user"]


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["customer", "partner", "granted_at", "revoked_at"]
    list_select_related = ["customer", "partner"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "org", "role", "created_at", "accepted_at"]
    exclude = ["token_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "actor_label", "person_label", "org"]
    list_filter = ["event"]
    search_fields = ["actor_label", "person_label", "correlation_id"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
