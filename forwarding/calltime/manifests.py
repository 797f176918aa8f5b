"""Lync Server 2013 (seed 004): the MSPL application manifest compiled from the rules.

`manifest_for` compiles every person's always-forward and caller rules (in the
precedence of forwarding.rules.routing) with providers.lync; `manifest_download` audits each
download (`manifest.downloaded`) and `manifest_status` tells whether the rules changed
since the last one.
"""

from __future__ import annotations

import hashlib

from django.conf import settings as django_settings
from django.db import transaction

from forwarding.models import ForwardingSettings
from forwarding.rules import directory, routing
from portal import audit
from portal.models import AuditEvent
from providers import lync

EVENT_MANIFEST_DOWNLOADED = audit.Event.MANIFEST_DOWNLOADED

def app_uri(org) -> str:
    return f"{django_settings.PUBLIC_URL}/lync/{org.pk}/forwarding"


def _lync_address(destination, people):
    """A destination as the manifest dials it: a person of the org by their SIP URI."""
    target = people.get(destination)
    if target is not None and target.sip_uri:
        return target.sip_uri
    return destination


def lync_rules(org) -> list[lync.PersonRules]:
    """Every person's always-forward and caller rules, as the compiler takes them, in
    the precedence of forwarding.rules.routing (caller rules, then always-forward); features
    Lync does not support are left out, as routing.decide would skip them."""
    caps = org.capabilities
    rows = (ForwardingSettings.objects.filter(person__org=org)
            .select_related("person__org").prefetch_related("caller_rules")
            .order_by("person__id"))
    everyone = [(row.person, routing.rules_from(row, person=row.person, caps=caps))
                for row in rows if row.person.sip_uri or row.person.phone_number]
    # The people behind every destination of the org at once (the manifest covers the
    # whole org anyway: one query, reading every person).
    destinations = [routes.always_destination for _, routes in everyone]
    destinations += [rule.destination for _, routes in everyone for rule in routes.caller_rules]
    people = directory.people_behind(org, destinations, whole_org=True)
    return [_person_rules(person, routes, caps, people) for person, routes in everyone]


def _person_rules(person, routes, caps, people) -> lync.PersonRules:
    """One person's rules as the compiler takes them; `people`: destination -> person."""
    always = ""
    if caps.supports("always") and routes.always_enabled and routes.always_destination:
        always = _lync_address(routes.always_destination, people)
    rules = []
    if caps.supports("caller_rules"):
        for rule in routes.caller_rules:
            if rule.schedule:
                continue  # an MSPL script has no clock: routing never applies it either
            disposition = rule.disposition if rule.disposition in caps.dispositions \
                else "forward"
            rules.append(lync.CallerRule(
                callers=tuple(rule.callers),
                destination=_lync_address(rule.destination, people),
                disposition=disposition, match_anonymous=rule.match_anonymous,
                match_all=rule.match_all,
            ))
    return lync.PersonRules(address=person.sip_uri or person.phone_number,
                            caller_rules=tuple(rules), always_destination=always)


def manifest_for(org) -> bytes:
    return lync.compile_manifest(lync_rules(org), app_uri=app_uri(org))


def manifest_filename(org) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in (org.provider_org_id or str(org.pk)))
    return f"callforward-{slug.strip('-').lower() or org.pk}.am"


@transaction.atomic
def manifest_download(*, org, actor: audit.Actor) -> bytes:
    """The org's manifest, with the audit row that says who downloaded which version."""
    rules = lync_rules(org)
    manifest = lync.compile_manifest(rules, app_uri=app_uri(org))
    people = sum(1 for p in rules if p.has_rules)
    audit.record(
        event=EVENT_MANIFEST_DOWNLOADED, actor=actor, org=org,
        data={"sha256": hashlib.sha256(manifest).hexdigest(), "bytes": len(manifest),
              "people_with_rules": people, "filename": manifest_filename(org)},
    )
    return manifest


def manifest_status(org) -> dict:
    """When the rules last changed and when the manifest was last downloaded; `changed`
    is True when a change came after the last download (or nothing was downloaded)."""
    events = AuditEvent.objects.filter(org=org).order_by("-created_at", "-id")
    downloaded = events.filter(event=EVENT_MANIFEST_DOWNLOADED).values_list(
        "created_at", flat=True).first()
    changed_at = events.filter(event__startswith="forwarding.").values_list(
        "created_at", flat=True).first()
    return {
        "downloaded_at": downloaded,
        "changed_at": changed_at,
        "changed": changed_at is not None and (downloaded is None or changed_at > downloaded),
    }
