"""The people and objects the security tests act on: org A with every kind of object,
another org B with the same, a partner org with a delegation from A, a partner org
without one, and a staff user. Users of every role the permission rules distinguish."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from forwarding.bulk import drafts, jobs
from forwarding.bulk.plan import plan_edit
from forwarding.models import (
    BulkJob,
    BulkJobRow,
    CallRecord,
    DestinationPolicy,
    ForwardingSettings,
    PolicyException,
)
from portal import services as portal_services
from portal.audit import Actor
from portal.connections import services as connection_services
from portal.events import services as event_services
from portal.models import Delegation, Membership, Person, User
from tests.cast import enable_totp, make_org, make_person, make_user, update

from .sitemap import Url, is_accounts, is_admin

ROLES = ("anonymous", "member", "member_b", "admin", "admin_b", "partner", "lonely_partner",
         "staff")

# Every org's provider credentials contain this, so a page that renders them is found.
SECRET_MARK = "prov1der-s3cret-"


def secret(name):
    return f"{SECRET_MARK}{name}-9f2c"


@dataclass
class World:
    users: dict[str, User | None] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None

    def user(self, role):
        return self.users[role]


def _org(kind, name):
    return make_org(kind, name=name, credentials={"token": secret(name),
                                                  "client_secret": secret(name + "-cs")})


def _settings_with_history(person):
    """A stored row one version ahead of the provider, with drift to resolve and an audit
    event to restore."""
    update(person, busy_enabled=True, busy_destination="2001")
    ForwardingSettings.objects.filter(person=person).update(
        drift_state={"busy_enabled": False}, drift_detected_at=timezone.now())


def _job(org, person, actor):
    plan = plan_edit(org, [person.pk], feature="no_answer", action="set",
                                    destination="2003")
    job = jobs.job_create(org=org, plan=plan, actor=actor, kind=BulkJob.EDIT,
                          description="Forward when not answered to 2003")
    ids = list(BulkJobRow.objects.filter(job=job, status=BulkJobRow.PENDING)
               .values_list("id", flat=True))
    jobs.apply_rows(job_id=job.pk, row_ids=ids)
    return BulkJob.objects.get(pk=job.pk)


def _draft(org, person, user):
    """A ready dry run of a one-row CSV file, made by `user`."""
    text = f"email,busy_enabled,busy_destination\n{person.email},yes,2015\n"
    draft, problems = drafts.draft_create(org=org, user=user, via_partner=None,
                                               filename="people.csv", data=text.encode())
    assert not problems and draft.status == "ready", problems
    return draft


def _call(org, person):
    return CallRecord.objects.create(org=org, person=person, provider_call_id=f"call-{org.pk}",
                                     api_version="v1.0", caller_kind="phone",
                                     started_at=timezone.now(), caller_id="+12025550177")


def build() -> World:
    w = World()
    o = w.objects
    o["org_a"] = _org("webex", "Acme")
    o["org_a_lync"] = _org("lync", "Acme Lync")
    o["org_b"] = _org("webex", "Globex")
    o["org_c"] = _org("webex", "Globex Partner")
    o["partner_org"] = _org("webex", "Partner Co")
    o["lonely_org"] = _org("webex", "No Delegation Co")
    o["graph_org"] = _org("graph", "Graph Co")
    o["org_a_ucwa"] = _org("ucwa", "Acme UCWA")

    u = w.users
    u["anonymous"] = None
    u["member"] = make_user(org=o["org_a"], role=Membership.MEMBER)
    u["member_b"] = make_user(org=o["org_b"], role=Membership.MEMBER)
    u["admin"] = make_user(org=o["org_a"], role=Membership.ADMIN, mfa=True)
    o["membership_a"] = u["member"].memberships.get(org=o["org_a"])
    o["membership_b"] = u["member_b"].memberships.get(org=o["org_b"])
    Membership.objects.create(user=u["admin"], org=o["org_a_lync"], role=Membership.ADMIN)
    Membership.objects.create(user=u["admin"], org=o["graph_org"], role=Membership.ADMIN)
    Membership.objects.create(user=u["admin"], org=o["org_a_ucwa"], role=Membership.ADMIN)
    u["admin_b"] = make_user(org=o["org_b"], role=Membership.ADMIN, mfa=True)
    u["partner"] = make_user(org=o["partner_org"], role=Membership.ADMIN, mfa=True)
    u["lonely_partner"] = make_user(org=o["lonely_org"], role=Membership.ADMIN, mfa=True)
    staff = make_user()
    staff.is_staff = staff.is_superuser = True
    staff.save(update_fields=["is_staff", "is_superuser"])
    enable_totp(staff)
    u["staff"] = staff

    o["mia"] = make_person(o["org_a"], user=u["member"], name="Mia Member",
                           email="mia@acme.example")
    o["bob"] = make_person(o["org_a"], name="Bob Builder", email="bob@acme.example")
    o["zed"] = make_person(o["org_b"], user=u["member_b"], name="Zed Other")
    o["yan"] = make_person(o["org_b"], name="Yan Globex", email="yan@globex.example")
    o["lena"] = make_person(o["org_a_lync"], name="Lena Lync", sip_uri="sip:lena@acme.example")
    for person in (o["bob"], o["yan"]):
        _settings_with_history(person)

    o["delegation_a"] = Delegation.objects.create(customer=o["org_a"], partner=o["partner_org"])
    Delegation.objects.create(customer=o["org_a_lync"], partner=o["partner_org"])
    Delegation.objects.create(customer=o["graph_org"], partner=o["partner_org"])
    o["delegation_b"] = Delegation.objects.create(customer=o["org_b"], partner=o["org_c"])

    o["job_a"] = _job(o["org_a"], o["bob"], Actor.for_user(u["admin"]))
    o["job_b"] = _job(o["org_b"], o["yan"], Actor.for_user(u["admin_b"]))
    o["draft_a"] = _draft(o["org_a"], o["bob"], u["admin"])
    o["draft_b"] = _draft(o["org_b"], o["yan"], u["admin_b"])
    o["call_a"] = _call(o["org_a"], o["bob"])
    o["call_b"] = _call(o["org_b"], o["yan"])
    # Org A is connected (a token staff set), so disconnecting it changes something.
    connection_services.connect_static(o["org_a"], token=secret("Acme-connection"),
                                       actor=Actor.for_user(u["admin"]))
    # Each of orgs A and B has an event endpoint (enabled, so a test event can be sent).
    o["endpoint_a"], _secret = event_services.endpoint_create(
        org=o["org_a"], url="https://hooks.acme.example/portal", actor=Actor.for_user(u["admin"]))
    o["endpoint_b"], _secret = event_services.endpoint_create(
        org=o["org_b"], url="https://hooks.globex.example/portal",
        actor=Actor.for_user(u["admin_b"]))
    # Org A has a destination policy; Bob (A) and Yan (B) an exception each.
    DestinationPolicy.objects.create(org=o["org_a"], international_countries=["DE"])
    o["exception_a"] = PolicyException.objects.create(org=o["org_a"], person=o["bob"],
                                                      pattern="+44*")
    o["exception_b"] = PolicyException.objects.create(org=o["org_b"], person=o["yan"],
                                                      pattern="+44*")
    _invitation, o["invitation_token"] = portal_services.invitation_create(
        org=o["org_a"], email="newcomer@acme.example", role=Membership.MEMBER,
        actor=Actor.for_user(u["admin"]))
    return w


# --- URL parameters -------------------------------------------------------------------------

# What an API `pk` stands for, by the path segment before it.
_PK_KIND = {"people": "person", "organizations": "org", "delegations": "delegation",
            "bulk-jobs": "job", "bulk-drafts": "draft"}
_PARAM_KIND = {"person_id": "person", "org_id": "org", "delegation_id": "delegation",
               "job_id": "job", "membership_id": "membership", "draft_id": "draft",
               "endpoint_id": "endpoint", "exception_id": "exception"}


def targets(w: World, side: str, org_override: str | None):
    """kind -> object, of org A (side "a") or of org B (side "b")."""
    if side == "a":
        org = w.objects[org_override] if org_override else w.org_a
        return {"person": w.bob, "org": org, "delegation": w.delegation_a, "job": w.job_a,
                "membership": w.membership_a, "draft": w.draft_a, "endpoint": w.endpoint_a,
                "exception": w.exception_a}
    return {"person": w.yan, "org": w.org_b, "delegation": w.delegation_b, "job": w.job_b,
            "membership": w.membership_b, "draft": w.draft_b, "endpoint": w.endpoint_b,
            "exception": w.exception_b}


def _admin_object_id(url: Url):
    match = re.match(r"admin/(\w+)/(\w+)/", url.pattern)
    try:
        model = apps.get_model(match[1], match[2])
    except (LookupError, TypeError):
        return "0"
    first = model._default_manager.order_by("pk").first()
    return str(first.pk) if first is not None else "0"


def kwargs_for(w: World, url: Url, *, side="a", org_override=None) -> dict[str, str]:
    """Values for every parameter of `url`: objects of org A (or B), or for the admin and
    allauth pages values that reach the view."""
    objects = targets(w, side, org_override)
    values = {}
    for name in url.params:
        if is_accounts(url):
            values[name] = {"uidb36": "zz", "key": "no-such-key"}.get(name, "x")
        elif is_admin(url):
            values[name] = {
                "object_id": _admin_object_id(url), "id": str(w.users["member"].pk),
                "content_type_id": str(ContentType.objects.get_for_model(Person).pk),
                "app_label": "portal", "url": "no-such-page/",
            }[name]
        elif name == "pk":
            segment = url.pattern.split("<int:pk>")[0].rstrip("/").rsplit("/", 1)[-1]
            values[name] = objects[_PK_KIND[segment]].pk
        elif name in _PARAM_KIND:
            values[name] = objects[_PARAM_KIND[name]].pk
        elif name == "token":
            values[name] = w.invitation_token
        elif name == "key":
            values[name] = w.graph_org.webhook_key
        else:
            raise AssertionError(f"{url.key}: no test value for the URL parameter {name!r}; "
                                 "teach tests/security/world.py:kwargs_for about it")
    return values


def has_objects(url: Url) -> bool:
    """True when the URL names an object of an org (person, org, delegation, job)."""
    return not (is_accounts(url) or is_admin(url)) and any(
        p == "pk" or p in _PARAM_KIND for p in url.params)
