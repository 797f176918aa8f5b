"""Outgoing events: the HTTPS endpoints an organization's admins register, the events
waiting to go out (the outbox, written in the transaction of the change they announce),
one delivery per event and endpoint, and every attempt of a delivery.

An event is written by `portal.audit.record` in the same transaction as its audit row,
so a rolled-back change announces nothing and a committed one cannot be lost; workers
deliver from these rows (portal.events.delivery)."""

from django.db import models
from django.utils import timezone

from portal.fields import EncryptedJSONField

from .tenancy import Organization, User


class EventEndpoint(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE,
                            related_name="event_endpoints")
    url = models.CharField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Event types this endpoint receives; empty means every type of the catalog.
    event_types = models.JSONField(default=list, blank=True)
    # {"current": "whsec_...", "previous": "whsec_...", "previous_until": iso}: after a
    # rotation both sign for a day, so a receiver can switch without losing events.
    secrets = EncryptedJSONField(default=dict)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The current run of failed attempts (reset by any success); the endpoint is
    # disabled when it lasts too long or too many attempts in a row (EVENTS_DISABLE_*).
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    # Set when the admins were told it was disabled; cleared when it is enabled again, so
    # one run of failures sends one email.
    disabled_notified_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["org_id", "id"]

    def __str__(self):
        return f"{self.org} -> {self.url}"


class OutgoingEvent(models.Model):
    """One event: its id (webhook-id) and body are fixed when it is written, so every
    attempt to every endpoint sends the same bytes and receivers deduplicate by the id."""

    message_id = models.CharField(max_length=40, unique=True)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    body = models.TextField()  # the JSON payload exactly as sent
    audit_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.type} {self.message_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Gave up"


class EventDelivery(models.Model):
    event = models.ForeignKey(OutgoingEvent, on_delete=models.CASCADE,
                              related_name="deliveries")
    endpoint = models.ForeignKey(EventEndpoint, on_delete=models.CASCADE,
                                 related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker owns a SENDING row until then; past it the sweeper hands it to another.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"],
                                               name="one_delivery_per_event_endpoint")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="event_delivery_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="event_delivery_recent_idx"),
        ]

    def __str__(self):
        return f"{self.event_id} -> {self.endpoint_id}: {self.status}"


class DeliveryAttempt(models.Model):
    """Written before the request goes out and completed after it, so an attempt that
    died with its worker still shows (without an outcome)."""

    delivery = models.ForeignKey(EventDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}"
