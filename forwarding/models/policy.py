"""An org's destination policy (where its people's calls may be forwarded) and the
exceptions its admins grant one person. No row: every destination validation accepts is
allowed, as before policies existed. Decisions are forwarding.rules.policy's (pure)."""

from django.db import models

from portal.models import Organization, Person


class DestinationPolicy(models.Model):
    org = models.OneToOneField(Organization, on_delete=models.CASCADE,
                               related_name="destination_policy")
    allow_internal = models.BooleanField(default=True)
    allow_sip = models.BooleanField("allow SIP addresses outside the org", default=True)
    allow_national = models.BooleanField(default=True)
    allow_mobile = models.BooleanField(default=True)
    allow_international = models.BooleanField(default=True)
    # ISO regions ("DE", "FR"); empty: every country, when international numbers are on.
    international_countries = models.JSONField(default=list, blank=True)
    # E.164 patterns ("+4930*"): forwarding.rules.policy.parse_pattern's syntax.
    deny_patterns = models.JSONField(default=list, blank=True)
    allow_patterns = models.JSONField(default=list, blank=True)
    # Hosts of SIP addresses that count as the org's own ("example.com").
    sip_domains = models.JSONField(default=list, blank=True)
    # Off: a member's own edits may use internal destinations only (issue 18 item 2);
    # admins acting for them are bound by the rest of the policy only.
    members_outside_org = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_label = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"Destination policy of {self.org}"


class PolicyException(models.Model):
    """One person may use destinations matching `pattern` ("" : any) whatever the
    policy says."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE,
                            related_name="policy_exceptions")
    person = models.ForeignKey(Person, on_delete=models.CASCADE,
                               related_name="policy_exceptions")
    pattern = models.CharField(max_length=20, blank=True)
    note = models.CharField(max_length=200, blank=True)
    granted_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person_id", "pattern", "id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "pattern"],
                                    name="one_policy_exception_per_pattern"),
        ]

    def __str__(self):
        return f"{self.person}: {self.pattern or 'any destination'}"
