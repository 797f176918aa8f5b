"""Django admin. Staff need TOTP (portal.admin_site).

Memberships, delegations, people and invitations are read-only here: each has its own
audited road (invitations and the org settings page, delegations there and in the API,
people from the provider import and the bulk tools), and a second, unaudited road for
the most powerful users would undo the audit log's promise. Organizations have no other
page, so their admin form writes through portal.org_services (validated and audited)."""

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal import audit, org_services
from portal.models import AuditEvent, Delegation, Invitation, Membership, Organization, Person, User

admin.site.register(User, UserAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "provider_kind", "provider_org_id", "default_region"]
    # Credentials are encrypted and never shown back; set them through the shell or seed.
    exclude = ["credentials"]
    readonly_fields = ["partner_code"]  # staff may read it out to a customer
    search_fields = ["name", "provider_org_id"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "base_url":
            kwargs["assume_scheme"] = "https"  # a typed bare host means https, never http
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        actor = audit.actor_from_request(request)
        if not change:
            org_services.organization_create(org=obj, actor=actor)
            return
        changes = {name: form.cleaned_data[name] for name in form.changed_data
                   if name in org_services.AUDITED_FIELDS}
        org_services.organization_update(org=obj, changes=changes, actor=actor)

    def has_delete_permission(self, request, obj=None):
        # Deleting an org cascades into its people, settings and memberships, unaudited.
        return False


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["user", "org", "role"]
    list_filter = ["role", "org"]
    list_select_related = ["user", "org"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "org", "email", "phone_number", "provider_person_id"]
    list_filter = ["org"]
    search_fields = ["display_name", "email", "phone_number", "provider_person_id"]
    list_select_related = ["org"]
    raw_id_fields = ["user"]


@admin.register(Delegation)
class DelegationAdmin(ReadOnlyAdmin):
    list_display = ["customer", "partner", "granted_at", "revoked_at"]
    list_select_related = ["customer", "partner"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["email", "org", "role", "created_at", "accepted_at"]
    exclude = ["token_hash"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "actor_label", "person_label", "org"]
    list_filter = ["event"]
    search_fields = ["actor_label", "person_label", "correlation_id"]


# Sign-in with a work account: the identity providers come from the environment
# (portal/settings/identity.py), no token is stored, and a link between an IdP account and
# a portal account is made only by the audited rule of portal.adapters, so Django admin
# shows links read-only and edits neither apps nor tokens.
for _model in (SocialApp, SocialToken, SocialAccount):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(SocialAccount)
class SocialAccountAdmin(ReadOnlyAdmin):
    list_display = ("user", "provider", "uid", "date_joined", "last_login")
    search_fields = ("user__email", "uid")
