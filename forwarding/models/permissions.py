"""What an org's members may change on their own line (issue 18, item 2).

One row per org, absent for most: no row means members may change every feature, which is
what the portal always did. The row lists the *locked* features rather than the allowed
ones, so a feature the portal learns later is editable by members until an admin locks
it, as every feature was before this switch existed, and an org that never opened the
page is never narrowed by an upgrade. Enforced by forwarding.rules.permissions inside the
forwarding services, whatever page, API call or restore the change comes from.
"""

from django.db import models

from portal.models import Organization, User
from providers.capabilities import FEATURES

# Every feature a member may be kept from changing: the capability matrix's features
# (the settings' features plus the caller rules).
MEMBER_FEATURES = FEATURES


class MemberPermissions(models.Model):
    org = models.OneToOneField(Organization, on_delete=models.CASCADE,
                               related_name="member_permissions")
    # Feature names of MEMBER_FEATURES that members may not change; order of MEMBER_FEATURES.
    locked = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who set them last: the admin a member is told to ask, while they still are one.
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    updated_by_label = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "member permissions"

    def __str__(self):
        return f"Member permissions of {self.org}"
