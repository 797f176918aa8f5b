"""The admins' writes on an org's event endpoints, each with its audit row in the same
transaction. The secret is returned once, by create and rotate, and never shown again."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import audit
from portal.audit import ANNOUNCED, Event
from portal.events import delivery, netguard, outbox, signing
from portal.models import EventEndpoint

MAX_ENDPOINTS_PER_ORG = 10
PREVIOUS_SECRET_GRACE = timedelta(hours=24)


class EndpointError(ValueError):
    """Refused input: `field` names the form field (or "" for the whole form)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def event_type_choices() -> list[tuple[str, str]]:
    """(code, label) of every event type an endpoint may subscribe to."""
    return sorted(((e.value, e.label) for e in ANNOUNCED), key=lambda c: c[0])


def clean_url(url: str) -> str:
    url = (url or "").strip()
    problem = netguard.url_problem(url, allow_insecure=settings.EVENTS_ALLOW_INSECURE_URLS)
    if problem:
        raise EndpointError("url", problem)
    return url


def clean_event_types(types) -> list[str]:
    if types is None:
        return []
    if not isinstance(types, (list, tuple)) or not all(isinstance(t, str) for t in types):
        raise EndpointError("event_types", "Give a list of event types.")
    known = {code for code, _label in event_type_choices()}
    unknown = sorted(set(types) - known)
    if unknown:
        raise EndpointError("event_types", f"Unknown event type: {', '.join(unknown)}.")
    return sorted(set(types))


def _snapshot(endpoint) -> dict:
    return {"endpoint_id": endpoint.pk, "url": endpoint.url,
            "event_types": endpoint.event_types or "all", "enabled": endpoint.enabled}


def endpoint_create(*, org, url, description="", event_types=None, actor):
    """(endpoint, secret): the secret is shown to the admin this once."""
    url = clean_url(url)
    types = clean_event_types(event_types)
    description = (description or "").strip()
    if len(description) > 200:
        raise EndpointError("description", "Use at most 200 characters.")
    with transaction.atomic():
        count = EventEndpoint.objects.select_for_update().filter(org=org).count()
        if count >= MAX_ENDPOINTS_PER_ORG:
            raise EndpointError("", f"An organization has at most {MAX_ENDPOINTS_PER_ORG} "
                                    "endpoints; remove one first.")
        secret = signing.new_secret()
        endpoint = EventEndpoint.objects.create(
            org=org, url=url, description=description, event_types=types,
            secrets={"current": secret}, created_by=actor.user)
        audit.record(event=Event.EVENT_ENDPOINT_CREATED, actor=actor, org=org,
                     new=_snapshot(endpoint))
    return endpoint, secret


def endpoint_rotate_secret(*, endpoint, actor) -> str:
    """A new secret; the old one keeps signing alongside it for a day."""
    secret = signing.new_secret()
    with transaction.atomic():
        locked = EventEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.secrets = {
            "current": secret, "previous": locked.secrets.get("current", ""),
            "previous_until": (timezone.now() + PREVIOUS_SECRET_GRACE).isoformat()}
        locked.save(update_fields=["secrets"])
        audit.record(event=Event.EVENT_ENDPOINT_SECRET_ROTATED, actor=actor, org=locked.org,
                     data={"endpoint_id": locked.pk, "url": locked.url,
                           "previous_valid_until": locked.secrets["previous_until"]})
    endpoint.secrets = locked.secrets
    return secret


def endpoint_set_enabled(*, endpoint, enabled: bool, actor) -> bool:
    """Turn the endpoint on or off by hand. Turning it on starts a new run (the failure
    count, and the email, start again) and lets its waiting events go. Returns whether
    anything changed."""
    now = timezone.now()
    with transaction.atomic():
        if enabled:
            changed = EventEndpoint.objects.filter(pk=endpoint.pk, enabled=False).update(
                enabled=True, disabled_at=None, disabled_reason="", consecutive_failures=0,
                failing_since=None, disabled_notified_at=None)
        else:
            changed = EventEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
                enabled=False, disabled_at=now,
                disabled_reason=f"Disabled by {actor.label}"[:300])
        if changed:
            audit.record(event=Event.EVENT_ENDPOINT_ENABLED if enabled
                         else Event.EVENT_ENDPOINT_DISABLED, actor=actor, org=endpoint.org,
                         data={"endpoint_id": endpoint.pk, "url": endpoint.url})
            if enabled:  # its waiting events go now rather than at the next sweep
                transaction.on_commit(delivery.sweep)
    endpoint.refresh_from_db()
    return bool(changed)


def endpoint_delete(*, endpoint, actor) -> None:
    with transaction.atomic():
        audit.record(event=Event.EVENT_ENDPOINT_DELETED, actor=actor, org=endpoint.org,
                     old=_snapshot(endpoint))
        endpoint.delete()


def send_test(*, endpoint, actor):
    """Queue a "test" event to this endpoint."""
    if not endpoint.enabled:
        raise EndpointError("", "Enable the endpoint before sending it a test event.")
    with transaction.atomic():
        event = outbox.test_event(endpoint, actor_label=actor.label)
        audit.record(event=Event.EVENT_ENDPOINT_TESTED, actor=actor, org=endpoint.org,
                     data={"endpoint_id": endpoint.pk, "url": endpoint.url,
                           "message_id": event.message_id})
    return event
