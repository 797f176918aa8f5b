"""A person's desired forwarding, its caller rules, its sync state and push attempts."""

from django.db import models
from django.db.models import F, Q

from portal.models import Person
from providers.capabilities import PORTAL_DESTINATION_MAX_LENGTH as DESTINATION_MAX


class SyncStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PUSHING = "pushing", "Pushing"
    RETRYING = "retrying", "Retrying"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    NOT_PUSHED = "not_pushed", "Applied at call time"
    # No valid token for the org's provider: not an attempt, nothing lost. It goes on by
    # itself once the connection works again (portal.signals.connection_restored).
    WAITING = "waiting", "Waiting for the connection"


class ForwardingSettingsQuerySet(models.QuerySet):
    def behind(self):
        return self.filter(version__gt=F("synced_version"))


class ForwardingSettings(models.Model):
    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="forwarding")

    always_enabled = models.BooleanField(default=False)
    always_destination = models.CharField(max_length=DESTINATION_MAX, blank=True)
    always_ring_reminder = models.BooleanField(default=False)
    always_voicemail = models.BooleanField(default=False)

    busy_enabled = models.BooleanField(default=False)
    busy_destination = models.CharField(max_length=DESTINATION_MAX, blank=True)
    busy_voicemail = models.BooleanField(default=False)

    no_answer_enabled = models.BooleanField(default=False)
    no_answer_destination = models.CharField(max_length=DESTINATION_MAX, blank=True)
    # In the provider's unit (capabilities.no_answer_unit): rings for Webex, seconds for UCWA.
    no_answer_ring_after = models.PositiveSmallIntegerField(null=True, blank=True)
    no_answer_voicemail = models.BooleanField(default=False)

    continuity_enabled = models.BooleanField(default=False)
    continuity_destination = models.CharField(max_length=DESTINATION_MAX, blank=True)
    continuity_voicemail = models.BooleanField(default=False)

    simring_enabled = models.BooleanField(default=False)
    simring_targets = models.JSONField(default=list, blank=True)
    simring_timeout = models.PositiveSmallIntegerField(null=True, blank=True)
    # The simultaneous-ring targets (a subset of simring_targets) whose answerer must press
    # a key to take the call, so a voicemail box there cannot swallow it (Webex's
    # answerConfirmationEnabled per number).
    simring_confirm = models.JSONField(default=list, blank=True)
    # Webex's doNotRingIfOnCallEnabled: the targets are not rung while the person is on
    # a call.
    simring_skip_when_on_call = models.BooleanField(default=False)

    # Do not disturb: the person's own phone does not ring (callers get the busy
    # treatment); ring splash plays a short ring instead.
    dnd_enabled = models.BooleanField(default=False)
    dnd_ring_splash = models.BooleanField(default=False)

    # The person's recurring schedules, read in the person's time zone (portal.timezones):
    # [{"name": "Office hours", "kind": "business_hours",
    #   "hours": {"monday": [["09:00", "17:00"]], ...}},
    #  {"name": "Public holidays", "kind": "holidays",
    #   "dates": [{"name": "Christmas", "start": "2026-12-25", "end": "2026-12-26",
    #              "yearly": true}]}]
    # Caller rules refer to a schedule by name. Wall-clock values, so they follow daylight
    # saving; part of the versioned desired state like every other setting.
    schedules = models.JSONField(default=list, blank=True)

    # A time window ("to my colleague from Monday 08:00 until Friday 18:00") overrides the
    # settings above while it lasts; they return by themselves when it ends.
    window_enabled = models.BooleanField(default=False)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    window_destination = models.CharField(max_length=DESTINATION_MAX, blank=True)
    # What the portal last acted on: scheduled -> active -> ended. The beat task moves it.
    window_state = models.CharField(max_length=10, blank=True)

    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by_label = models.CharField(max_length=200, blank=True)

    # --- push state (the outbox) ---
    synced_version = models.PositiveIntegerField(default=0)
    sync_status = models.CharField(
        max_length=12, choices=SyncStatus.choices, default=SyncStatus.PENDING
    )
    sync_attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # A push claims the row until this time; a crashed worker's claim simply expires.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)

    # A partner's change is pushed with the partner's credentials and the customer's org
    # id (Webex orgId); set by the service that made the latest change.
    push_via_partner = models.ForeignKey(
        "portal.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # --- drift: the provider's state differed from ours ---
    drift_detected_at = models.DateTimeField(null=True, blank=True)
    drift_checked_at = models.DateTimeField(null=True, blank=True)
    drift_state = models.JSONField(null=True, blank=True)
    # Whether the provider may hold what a push provider keeps beyond call forwarding
    # (Webex: criteria, schedules, simultaneous ring, DND) because the portal wrote it,
    # started writing it, or a drift check saw it. While False and the desired state has
    # none of it, a push writes call forwarding alone: one request, not five.
    person_settings_held = models.BooleanField(default=False)

    # --- copies of the person's org and name, for the list filtered by status ---
    # So that an index orders a status's people by name within an org (the people list
    # and the API filtered by sync_status walk it and read one page, not every match:
    # forwarding.rules.people_lists.StatusWalk). PostgreSQL triggers keep them equal to
    # portal_person's org_id and display_name whatever writes the rows, raw SQL included
    # (migration 0019); a write that would change them is overruled. Not kept on SQLite (the
    # demo), where nothing reads them.
    person_org = models.ForeignKey(
        "portal.Organization", null=True, blank=True, editable=False, db_index=False,
        db_constraint=False, on_delete=models.DO_NOTHING, related_name="+")
    person_name = models.CharField(max_length=200, blank=True, default="", editable=False)

    objects = ForwardingSettingsQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "forwarding settings"
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="fwd_behind_idx",
                condition=Q(version__gt=F("synced_version")),
            ),
            # The API's sync_status filter within one org: a status's people in name
            # order (the copies above), so a page costs 50 entries whatever the org's
            # size; with sync_status leading, the statuses of every org are found too
            # (the sweeper's `waiting`, a filter across orgs).
            models.Index(fields=["sync_status", "person_org", "person_name", "person"],
                         name="fwd_status_name_idx"),
            # The filter's `behind` (a change on its way, not failed), the same way.
            models.Index(
                fields=["person_org", "person_name", "person"], name="fwd_behind_name_idx",
                condition=Q(version__gt=F("synced_version")) & ~Q(sync_status="failed"),
            ),
        ]

    def __str__(self):
        return f"forwarding of {self.person}"


class CallerRule(models.Model):
    """"When the caller is one of these, send the call to Y", in order."""

    FORWARD = "forward"
    REDIRECT = "redirect"
    DISPOSITIONS = [
        (FORWARD, "Forward (the caller is not told)"),
        (REDIRECT, "Redirect (the caller is told)"),
    ]

    settings = models.ForeignKey(
        ForwardingSettings, on_delete=models.CASCADE, related_name="caller_rules"
    )
    position = models.PositiveSmallIntegerField()
    # Normalised numbers and SIP URIs of the callers this rule matches.
    callers = models.JSONField(default=list)
    match_anonymous = models.BooleanField(default=False)
    destination = models.CharField(max_length=DESTINATION_MAX)
    disposition = models.CharField(max_length=8, choices=DISPOSITIONS, default=FORWARD)
    mask_caller = models.BooleanField(default=False)
    mask_callee = models.BooleanField(default=False)
    # Every caller matches (callers and match_anonymous then do not matter): "all calls
    # outside business hours go to ...".
    match_all = models.BooleanField(default=False)
    # The rule applies only during (or outside) one of the person's schedules, by name;
    # blank: at all times.
    DURING = "during"
    OUTSIDE = "outside"
    WHEN_CHOICES = [(DURING, "During the schedule"), (OUTSIDE, "Outside the schedule")]
    schedule = models.CharField(max_length=80, blank=True)
    schedule_when = models.CharField(max_length=8, choices=WHEN_CHOICES, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["settings", "position"], name="one_rule_per_position"),
        ]

    def __str__(self):
        return f"rule {self.position} of {self.settings.person}"


class PushAttempt(models.Model):
    """One outbound push: recorded before the provider call and completed after it, so an
    admin can see what was sent, when, and what came back (and a crash leaves a trace)."""

    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    WAITING = "waiting"
    OUTCOMES = [(IN_FLIGHT, "In flight"), (SUCCEEDED, "Succeeded"),
                (TRANSIENT, "Failed, will retry"), (PERMANENT, "Failed"),
                (WAITING, "Refused token, waiting for the connection")]

    settings = models.ForeignKey(
        ForwardingSettings, on_delete=models.CASCADE, related_name="push_attempts"
    )
    version = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=OUTCOMES, default=IN_FLIGHT)
    sent = models.JSONField(default=dict)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    tracking_id = models.CharField(max_length=200, blank=True)
    requests = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["settings", "-started_at"]),
            # Retention finds the oldest attempts by it (forwarding.upkeep.retention).
            models.Index(fields=["started_at"], name="pushattempt_started_idx"),
        ]

    def __str__(self):
        return f"push of v{self.version} ({self.outcome})"
