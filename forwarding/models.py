"""A person's desired forwarding, provider-neutral, and its push state.

The settings row is also the outbox: `version > synced_version` means the provider does
not have the latest change yet. Services bump `version` on every change, in the same
transaction as the audit row; the pipeline records `synced_version` when a push lands.
"""

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

    objects = ForwardingSettingsQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "forwarding settings"
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="fwd_behind_idx",
                condition=Q(version__gt=F("synced_version")),
            ),
            # The people list's and the API's sync_status filter: the few failed people
            # of a 200,000-person org are found (and counted) without reading the others.
            models.Index(fields=["sync_status", "person"], name="fwd_status_person_idx"),
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


class BulkJob(models.Model):
    """A CSV import, a bulk edit from the people list, or the undo of one of them.

    Rows are applied by Celery tasks on the bulk queue, each through forwarding_update (so
    with the same validation, version bump and audit row as a page); the job's counters
    are read from its rows (forwarding.bulk.selectors.job_progress), never stored twice.
    """

    IMPORT = "import"
    EDIT = "edit"
    UNDO = "undo"
    KINDS = [(IMPORT, "CSV import"), (EDIT, "Bulk edit"), (UNDO, "Undo")]

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    # Its creator lost access to the org (delegation revoked, removed from the org): the
    # rows not applied yet never will be; the applied ones stay and can be undone.
    STOPPED = "stopped"
    STATUSES = [(QUEUED, "Queued"), (RUNNING, "Running"), (DONE, "Done"),
                (STOPPED, "Stopped")]
    ACTIVE = (QUEUED, RUNNING)

    org = models.ForeignKey("portal.Organization", on_delete=models.CASCADE,
                            related_name="bulk_jobs")
    kind = models.CharField(max_length=8, choices=KINDS)
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    description = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey("portal.User", null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=200)
    # The partner org on whose behalf the job was started (None: the org's own admin).
    via_partner = models.ForeignKey("portal.Organization", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Every audit row the job writes carries this id (AuditEvent.correlation_id).
    correlation_id = models.CharField(max_length=64, db_index=True)
    undo_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="undone_by")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why a stopped job stopped, in words for its page ("The delegation ... was revoked").
    stopped_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} of {self.org}"


class BulkJobRow(models.Model):
    """One person's change in a bulk job, and what became of it."""

    PENDING = "pending"
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    INVALID = "invalid"
    STATUSES = [(PENDING, "Pending"), (APPLIED, "Applied"), (UNCHANGED, "Already so"),
                (FAILED, "Failed"), (INVALID, "Invalid")]

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()  # CSV line number, or position in a bulk edit
    key = models.CharField(max_length=254, blank=True)  # how the row named its person
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    person_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    # The changes dict handed to forwarding_update (JSON values; datetimes as ISO text).
    changes = models.JSONField(default=dict)
    # The version the row was prepared against (the CSV's version column), if any.
    expected_version = models.PositiveIntegerField(null=True, blank=True)
    errors = models.JSONField(default=dict, blank=True)  # field -> [messages]
    # The full snapshot before the change (what undo brings back), the values the row
    # wrote (field -> value, JSON) and the version it wrote.
    previous = models.JSONField(null=True, blank=True)
    written = models.JSONField(null=True, blank=True)
    new_version = models.PositiveIntegerField(null=True, blank=True)
    # An undo row applies only while these fields still hold these values (what the
    # undone job wrote); otherwise somebody changed them since, and they are left alone.
    guard = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self):
        return f"row {self.line} of job {self.job_id} ({self.status})"


class BulkDraft(models.Model):
    """A CSV import's dry run, kept in the database between the dry run and "Apply".

    It holds the uploaded file (within BULK_MAX_UPLOAD_BYTES) and, once planned, one
    BulkDraftRow per CSV row, so the results can be shown page by page and applied
    without parsing the file again. Only its creator sees or applies it; it expires
    after BULK_DRAFT_SECONDS and a user keeps at most BULK_DRAFTS_PER_USER of them
    (forwarding.bulk.drafts). A dry run still changes nobody's settings."""

    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    STATUSES = [(QUEUED, "Waiting for a worker"), (RUNNING, "Checking"), (READY, "Ready"),
                (FAILED, "Failed")]

    org = models.ForeignKey("portal.Organization", on_delete=models.CASCADE,
                            related_name="bulk_drafts")
    created_by = models.ForeignKey("portal.User", on_delete=models.CASCADE,
                                   related_name="bulk_drafts")
    # The partner org on whose behalf the dry run was made (None: the org's own admin).
    via_partner = models.ForeignKey("portal.Organization", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=200, blank=True)
    data = models.BinaryField()
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    rows_total = models.PositiveIntegerField(default=0)  # data rows, counted on upload
    rows_done = models.PositiveIntegerField(default=0)  # checked so far
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    changing = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)  # rows with warnings: apply needs confirm
    file_errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self):
        return f"dry run #{self.pk} of {self.filename}"

    @property
    def unchanged(self):
        return self.valid - self.changing


class BulkDraftRow(models.Model):
    """One CSV row of a dry run: invalid with its reasons, a change, or already so."""

    INVALID = "invalid"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    KINDS = [(INVALID, "Invalid"), (CHANGE, "Changes"), (UNCHANGED, "Already so")]

    draft = models.ForeignKey(BulkDraft, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    kind = models.CharField(max_length=9, choices=KINDS)
    key = models.CharField(max_length=254, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    person_label = models.CharField(max_length=200, blank=True)
    errors = models.JSONField(default=dict, blank=True)
    # The normalised values that would change (JSON), and [{"field", "old", "new"}].
    changes = models.JSONField(default=dict, blank=True)
    diff = models.JSONField(default=list, blank=True)
    # The person's settings version when the dry run read them: applying the draft
    # expects it, so a change made since the dry run is refused row by row, not overwritten.
    current_version = models.PositiveIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=dict, blank=True)  # conditional loops (rules.loops)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["draft", "kind", "line"])]

    def __str__(self):
        return f"row {self.line} of dry run {self.draft_id} ({self.kind})"

    @property
    def valid(self):
        return self.kind != self.INVALID


class CallRecord(models.Model):
    """One call that a call-time provider (the Graph bot) asked the portal about: the
    decision, the redirect that was sent and what came back, and how the call ended.

    Created when the incoming notification arrives (its unique (org, call id) pair is
    what makes a repeated notification harmless), completed by the redirect service and
    by follow-up notifications."""

    # redirect_status: where the redirect stands.
    PENDING = "pending"  # decided nothing yet; a worker will
    SENDING = "sending"  # a worker claimed it and is posting the redirect
    RETRYING = "retrying"  # the first attempt failed transiently; one retry is queued
    REDIRECTED = "redirected"
    FAILED = "failed"
    REDIRECT_STATUSES = [
        (PENDING, "Waiting for a worker"), (SENDING, "Sending"), (RETRYING, "Retrying"),
        (REDIRECTED, "Redirected"), (FAILED, "Failed"),
    ]

    org = models.ForeignKey("portal.Organization", on_delete=models.CASCADE,
                            related_name="call_records")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="call_records")
    provider_call_id = models.CharField(max_length=200)
    api_version = models.CharField(max_length=8)
    # The called line's identity in the notification (mapped to person.provider_person_id).
    line_id = models.CharField(max_length=200, blank=True)
    caller_kind = models.CharField(max_length=16, blank=True)  # user | phone | anonymous
    caller_id = models.CharField(max_length=200, blank=True)
    caller_label = models.CharField(max_length=200, blank=True)
    # Last lifecycle state seen: incoming, redirecting, terminated, deleted.
    state = models.CharField(max_length=16, default="incoming")

    # The decision of forwarding.rules.routing.
    rule = models.CharField(max_length=32, blank=True)
    explanation = models.CharField(max_length=500, blank=True)
    targets = models.JSONField(default=list, blank=True)  # destinations, as routing gave them
    target_labels = models.JSONField(default=list, blank=True)  # the same, for people
    disposition = models.CharField(max_length=8, blank=True)
    timeout = models.PositiveSmallIntegerField(null=True, blank=True)

    # The redirect: what was sent, what came back.
    redirect_status = models.CharField(max_length=10, choices=REDIRECT_STATUSES,
                                       default=PENDING)
    redirect_attempts = models.PositiveSmallIntegerField(default=0)
    redirect_body = models.JSONField(null=True, blank=True)
    redirect_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    redirect_error = models.CharField(max_length=500, blank=True)
    # From the incoming notification's arrival to the provider's answer to the redirect.
    latency_ms = models.PositiveIntegerField(null=True, blank=True)

    answered_by = models.CharField(max_length=200, blank=True)  # "user:<id>", "phone:+1..."
    answered_by_label = models.CharField(max_length=200, blank=True)
    termination_reason = models.CharField(max_length=64, blank=True)

    started_at = models.DateTimeField()  # when the incoming notification arrived
    redirected_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Keys (state|changeType|etag) of the notifications applied, in order. Repeats and
    # late ones are refused by the state order itself (see forwarding.calltime.bot).
    notifications = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "provider_call_id"],
                                    name="one_record_per_provider_call"),
        ]
        indexes = [
            models.Index(fields=["person", "-started_at"], name="call_person_recent_idx"),
            models.Index(fields=["org", "-started_at"], name="call_org_recent_idx"),
            # Retention finds the oldest calls by it (forwarding.upkeep.retention).
            models.Index(fields=["started_at"], name="call_started_idx"),
            # The recovery sweep's question, kept small: only calls still unsettled.
            models.Index(fields=["started_at"], name="call_unsettled_idx",
                         condition=models.Q(redirect_status__in=["pending", "sending",
                                                                 "retrying"])),
        ]

    def __str__(self):
        return f"call {self.provider_call_id} ({self.state})"

    RULE_LABELS = {
        "time_window": "Time window",
        "always": "Always forward",
        "simring": "Simultaneous ring",
        "dnd": "Do not disturb",
        "none": "No rule: rang the person",
    }
    STATUS_CSS = {PENDING: "pending", SENDING: "pushing", RETRYING: "retrying",
                  REDIRECTED: "synced", FAILED: "failed"}

    @property
    def completed(self) -> bool:
        return self.state in ("terminated", "deleted")

    @property
    def rule_label(self) -> str:
        if self.rule.startswith("caller_rule:"):
            return f"Caller rule {self.rule.split(':', 1)[1]}"
        return self.RULE_LABELS.get(self.rule, self.rule or "Not decided")

    @property
    def status_css(self) -> str:
        return self.STATUS_CSS.get(self.redirect_status, "pending")
