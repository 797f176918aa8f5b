"""Who is who: organisations, their members and admins, the telephony people they hold,
and partner delegations between organisations."""

import base64
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Lower

from portal.fields import EncryptedJSONField
from portal.provider_urls import validate_base_url
from portal.timezones import validate_time_zone
from providers.addresses import stored_line
from providers.capabilities import capabilities_for
from providers.registry import KIND_CHOICES

PARTNER_CODE_GROUPS = 4  # of 4 base-32 characters: 80 random bits


def new_partner_code():
    """A random, unguessable code a partner org hands to its customers, e.g.
    "K7QD-3MZA-W2PX-4HTE" (base 32, 80 bits from `secrets`)."""
    raw = base64.b32encode(secrets.token_bytes(PARTNER_CODE_GROUPS * 20 // 8)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, PARTNER_CODE_GROUPS * 4, 4))


def canonical_partner_code(typed):
    """A typed code in its stored form: case, spaces and dashes do not matter (ASCII only:
    the code's alphabet is A-Z and 2-7). Returns "" when it cannot be a code."""
    chars = "".join(c for c in (typed or "") if c not in " -\t").translate(
        str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if len(chars) != PARTNER_CODE_GROUPS * 4 or not chars.isascii() or not chars.isalnum():
        return ""
    return "-".join(chars[i:i + 4] for i in range(0, len(chars), 4))


def partner_by_code(typed):
    """The organization whose partner code is `typed` (case, spaces and dashes aside), or
    None: an exact match on the stored code."""
    code = canonical_partner_code(typed)
    return Organization.objects.filter(partner_code=code).first() if code else None


class User(AbstractUser):
    email = models.EmailField("email address", unique=True)

    def __str__(self):
        return self.email or self.username


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    provider_kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    # The provider's own id of this org (Webex orgId, Microsoft tenant id ...).
    provider_org_id = models.CharField("provider org id", max_length=200, blank=True)
    base_url = models.URLField("provider base URL", max_length=300, blank=True)
    credentials = EncryptedJSONField(blank=True, default=dict)
    default_region = models.CharField(
        "default phone region", max_length=2, default="US",
        help_text="Two-letter country code used to read national numbers, e.g. US, GB, DE.",
    )
    # IANA zone (e.g. "Europe/Berlin") in which the org's people enter and read times:
    # time windows, schedules, history, the simulator. Stored instants stay UTC.
    time_zone = models.CharField(
        "time zone", max_length=64, default="UTC", validators=[validate_time_zone],
        help_text="Where the org's people are, e.g. America/New_York or Europe/Berlin.",
    )
    # Pushes per second this org's provider accepts; shared by all workers.
    rate_limit_per_second = models.PositiveIntegerField(default=10)
    # Push pacing without Redis (see forwarding.sync.ratelimit): epoch milliseconds.
    push_tat_ms = models.FloatField(default=0, editable=False)
    push_paused_until_ms = models.FloatField(default=0, editable=False)
    # Secret part of this org's Graph webhook URL (call-time providers).
    webhook_key = models.CharField(max_length=64, unique=True, editable=False)
    # What a customer types to delegate to this org (shown to this org's own admins only):
    # customers never pick a partner from a list of every tenant.
    partner_code = models.CharField(max_length=32, unique=True, default=new_partner_code,
                                    editable=False)
    graph_api_version = models.CharField(
        max_length=8, choices=[("v1.0", "v1.0"), ("beta", "beta")], default="v1.0"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.webhook_key:
            self.webhook_key = secrets.token_urlsafe(32)
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        # The org's token is sent to this URL: only allowed hosts (portal.provider_urls).
        validate_base_url(self.provider_kind, self.base_url)

    @property
    def capabilities(self):
        """What this org's provider (at the org's Graph API version) can hold: the one way
        pages, API, bulk work, validation, sync and call time ask it."""
        return capabilities_for(self.provider_kind, self.graph_api_version)


class Membership(models.Model):
    MEMBER = "member"
    ADMIN = "admin"
    ROLE_CHOICES = [(MEMBER, "Member"), (ADMIN, "Admin")]

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=ROLE_CHOICES, default=MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="one_membership")]

    def __str__(self):
        return f"{self.user} {self.role} of {self.org}"


def sip_line_key():
    """SQL for the form a SIP URI is compared in, the twin of what
    providers.addresses.destination_key and keys_of_lines do in Python: lower case, without
    ;parameters, sips: read as sip: (first occurrence only, like str.replace(..., 1)).

    Computed in the query (and indexed as an expression) rather than stored: the user part
    of a SIP URI is case-sensitive to the providers, so the address itself is kept as typed."""
    return Func(
        Func(Lower("sip_uri"), Value(";"), Value(1), function="split_part",
             output_field=models.CharField()),
        Value("sips:"), Value("sip:"), function="regexp_replace",
        output_field=models.CharField(),
    )


class Person(models.Model):
    """A telephony identity in an org; optionally the portal user it belongs to."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="people")
    display_name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone_number = models.CharField("phone number (E.164)", max_length=32, blank=True)
    extension = models.CharField(max_length=16, blank=True)
    sip_uri = models.CharField("SIP URI", max_length=200, blank=True)
    # Webex personId, UCWA application id, Graph user / application instance id ...
    provider_person_id = models.CharField("provider person id", max_length=200)
    # IANA zone of this person when it differs from the org's; blank: the org's.
    time_zone = models.CharField(
        "time zone", max_length=64, blank=True, validators=[validate_time_zone],
        help_text="Leave blank to use the organisation's time zone.",
    )
    # Provider facts that are not settings, e.g. Webex systemMaxNumberOfRings.
    provider_data = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="people"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "provider_person_id"], name="one_person_per_provider_id"
            ),
        ]
        indexes = [
            # The people list's order (name, then id) within an org, in the index alone:
            # a deep page finds its ids without touching the table
            # (forwarding.rules.people_lists.slice_rows).
            models.Index(fields=["org", "display_name", "id"], name="person_org_name_id_idx"),
            models.Index(fields=["org", "email"]),
            # Loop checks find the person behind a destination by these (LineIndex).
            models.Index(fields=["org", "phone_number"], name="person_org_phone_idx"),
            models.Index(fields=["org", "extension"], name="person_org_extension_idx"),
            models.Index(F("org"), sip_line_key(), name="person_org_sip_key_idx"),
        ]

    def __str__(self):
        return self.display_name

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is None or {"phone_number", "extension", "sip_uri"} & set(
                update_fields):
            self.normalize_lines()
        super().save(*args, **kwargs)

    def normalize_lines(self, region=None):
        """Store the phone number and extension in the form destinations are matched in
        ("+1 202 555 0100" -> "+12025550100"), so that loop checks find this person with an
        indexed equality instead of normalising the whole org on every edit. Code that
        writes people around save() (bulk_create, update) calls this first."""
        phone, extension = (self.phone_number or "").strip(), (self.extension or "").strip()
        if region is None:
            # Only a national number or an extension with separators reads differently by
            # region; a "+" number or plain digits do not, which spares loading the org.
            plain = phone[:1] in ("", "+") and (not extension or extension.isdigit())
            region = "ZZ" if plain else self.org.default_region
        self.phone_number = stored_line(phone, region=region)
        self.extension = stored_line(extension, region=region, number_ok=False)
        self.sip_uri = (self.sip_uri or "").strip()

    @property
    def zone_name(self) -> str:
        """The IANA zone this person's times are entered and read in."""
        return self.time_zone or self.org.time_zone or "UTC"

    def lines(self):
        """Every address that reaches this person, for loop and self-forward checks."""
        return [v for v in (self.phone_number, self.extension, self.sip_uri) if v]


class DelegationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class Delegation(models.Model):
    """A customer org lets a partner org's admins act on its people, until revoked."""

    partner = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="delegations_received"
    )
    customer = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="delegations_granted"
    )
    granted_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = DelegationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "customer"],
                condition=Q(revoked_at__isnull=True),
                name="one_active_delegation",
            ),
            models.CheckConstraint(
                condition=~Q(partner=models.F("customer")), name="no_self_delegation"
            ),
        ]

    def __str__(self):
        return f"{self.customer} delegated to {self.partner}"

    @property
    def active(self):
        return self.revoked_at is None


class Invitation(models.Model):
    """An org admin invites a person by email; the link lets them set a password."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=8, choices=Membership.ROLE_CHOICES, default="member")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL)
    # Only a hash is stored: a database leak does not hand out accounts.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"invitation of {self.email} to {self.org}"
