"""Calls the Graph bot decided (call-time providers)."""

from django.db import models

from portal.models import Person


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
