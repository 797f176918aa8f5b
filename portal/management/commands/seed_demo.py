"""Create (or reset) the demo data: one org per provider kind, a partner org delegated to
two of them, a handful of people each and one user per role. Idempotent."""

import json

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from forwarding.models import DestinationPolicy
from forwarding.rules import permissions, policy_services
from portal.audit import Actor
from portal.events import services as event_services
from portal.models import Delegation, EventEndpoint, Membership, Organization, Person, User

# A fixed TOTP secret so a demo admin can add it to an authenticator app (or use oathtool).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 (demo only, printed)

ORGS = [
    # name, kind, provider org id, path under the sandbox, region
    ("Acme (Webex)", "webex", "acme-webex", "/webex/v1", "US"),
    ("Globex (Teams)", "graph", "globex-tenant", "/graph", "GB"),
    ("Initech (Skype)", "ucwa", "initech-ucwa", "/ucwa/v1", "US"),
    ("Umbrella (Lync)", "lync", "umbrella-lync", "", "DE"),
]
PARTNER = ("Northwind Partners", "webex", "northwind-partner", "/webex/v1", "US")
# Where each org's people are: their times are entered and read in this zone.
ZONES = {
    "acme-webex": "America/New_York",
    "globex-tenant": "Europe/London",
    "initech-ucwa": "America/Chicago",
    "umbrella-lync": "Europe/Berlin",
    "northwind-partner": "America/Los_Angeles",
}
# A person who works from elsewhere than their org: their own zone.
TRAVELLERS = {("acme-webex", "grace"): "Europe/Berlin"}
DELEGATED = ["acme-webex", "globex-tenant"]
# The org whose changes go to an event endpoint served by the sandbox (its receiver
# "demo"; `sandbox_connect` gives the receiver the secret, so it checks signatures).
DEMO_EVENTS_ORG = "acme-webex"
DEMO_EVENTS_RECEIVER = "demo"

# Acme's destination policy (issue 18): no premium-rate or shared-cost numbers (always
# blocked by any policy), international calls only to Canada and the UK, and nothing
# to the Caribbean's "+1 876" range that shares the US country code (a toll-fraud
# classic). Created once: an admin's later edits of it survive a re-seed.
DEMO_POLICY_ORG = "acme-webex"
DEMO_POLICY = {"international_countries": ["CA", "GB"], "deny_patterns": ["+1876*"],
               "sip_domains": ["acme.example"]}

# The org whose members see simultaneous ring read-only, and the admin they are told to ask.
DEMO_LOCKED_ORG = "acme-webex"
DEMO_LOCKED_FEATURES = ["simring"]
DEMO_ADMIN_NAME = ("Ada", "Admin")

PEOPLE = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling"]
NUMBERS = {
    "US": "+1202555{:04d}",
    "GB": "+44207946{:04d}",
    "DE": "+49301234{:04d}",
}


def _slug(name):
    return name.split(" ")[0].lower()


def _seed_org(name, kind, org_id, path, region, *, sandbox):
    org, _ = Organization.objects.update_or_create(
        provider_org_id=org_id,
        defaults={
            "name": name, "provider_kind": kind,
            "base_url": sandbox + path if path else "",
            # No static token: `manage.py sandbox_connect` connects each org through its
            # provider's flow (OAuth, admin consent, service account).
            "credentials": {},
            "default_region": region, "rate_limit_per_second": 20,
            "time_zone": ZONES.get(org_id, "UTC"),
        },
    )
    return org


def _seed_people(org, index, region, result):
    """The demo people of one org, numbered by the org's place in ORGS."""
    name, org_id = org.name, org.provider_org_id
    for n, person_name in enumerate(PEOPLE, start=1):
        number = NUMBERS[region].format(index * 100 + n)
        first = _slug(person_name)
        person, _ = Person.objects.update_or_create(
            org=org, provider_person_id=f"{org_id}-{first}",
            defaults={
                "display_name": person_name,
                "email": f"{first}@{_slug(name)}.example",
                "phone_number": number,
                "extension": f"{index + 1}{n:03d}",
                "sip_uri": f"sip:{first}@{_slug(name)}.example",
                "time_zone": TRAVELLERS.get((org_id, first), ""),
            },
        )
        result["people"].append({
            "id": person.id, "org": org.name, "display_name": person_name,
            "provider_person_id": person.provider_person_id, "phone_number": number,
            "time_zone": person.zone_name,
        })


def _seed_event_endpoint(org, *, sandbox):
    """Acme's endpoint at the sandbox's receiver; only with EVENTS_ALLOW_INSECURE_URLS
    (the sandbox is http on 127.0.0.1, which production refuses)."""
    url = f"{sandbox}/events/{DEMO_EVENTS_RECEIVER}"
    endpoint = EventEndpoint.objects.filter(org=org, url=url).first()
    if endpoint is None:
        try:
            endpoint, _secret = event_services.endpoint_create(
                org=org, url=url, description="Sandbox receiver (demo)",
                actor=Actor.system("seed_demo"))
        except event_services.EndpointError:
            return None
    return {"org": org.name, "url": url, "id": endpoint.id}


def _seed_policy(org) -> str:
    if not DestinationPolicy.objects.filter(org=org).exists():
        policy_services.policy_update(org=org, data=DEMO_POLICY,
                                      actor=Actor.system("demo seed"))
    return org.name


def _seed_member_permissions(org):
    """Acme's members may not change simultaneous ring themselves (issue 18, item 2): set
    by Acme's admin, named so that members read whom to ask."""
    admin = User.objects.get(email=f"admin@{_slug(org.name)}.example")
    if not admin.first_name:
        admin.first_name, admin.last_name = DEMO_ADMIN_NAME
        admin.save(update_fields=["first_name", "last_name"])
    row = permissions.member_permissions_update(
        org=org, locked=DEMO_LOCKED_FEATURES, actor=Actor.for_user(admin))
    return {"org": org.name, "locked": list(row.locked)}


def _seed_user(result, email, password, org, role, *, person=None, mfa=False, staff=False,
               label=None):
    """A verified user with `role` in `org` (None: no org), owning `person` if given."""
    u, _ = User.objects.get_or_create(email=email, defaults={"username": email})
    u.set_password(password)
    u.is_staff = u.is_superuser = staff
    u.save()
    EmailAddress.objects.update_or_create(
        user=u, email=email, defaults={"verified": True, "primary": True}
    )
    if org is not None:
        Membership.objects.update_or_create(user=u, org=org, defaults={"role": role})
    if person is not None:
        Person.objects.filter(user=u).exclude(pk=person.pk).update(user=None)
        person.user = u
        person.save(update_fields=["user"])
    if mfa and not Authenticator.objects.filter(user=u, type="totp").exists():
        Authenticator.objects.create(
            user=u, type=Authenticator.Type.TOTP, data={"secret": DEMO_TOTP_SECRET}
        )
    result["users"].append({
        "username": u.username, "email": email, "password": password,
        "role": label or role,
        "org": org.name if org else None, "mfa": mfa,
        "person_id": person.id if person else None,
    })


def _seed_users(orgs, partner, result):
    for name, _kind, org_id, _path, _region in ORGS:
        org = orgs[org_id]
        domain = _slug(name) + ".example"
        first_person = org.people.order_by("id").first()
        _seed_user(result, f"member@{domain}", "demo-member-pass", org, "member",
                   person=first_person)
        _seed_user(result, f"admin@{domain}", "demo-admin-pass", org, "admin", mfa=True)
    _seed_user(result, "admin@northwind.example", "demo-partner-pass", partner, "admin",
               mfa=True, label="partner admin")
    _seed_user(result, "staff@portal.example", "demo-staff-pass", None, "staff", mfa=True,
               staff=True)


class Command(BaseCommand):
    help = "Create or reset the demo organizations, people and users (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    @transaction.atomic
    def handle(self, *args, **options):
        result = {"orgs": [], "users": [], "people": [], "totp_secret": DEMO_TOTP_SECRET}
        orgs = {}
        for index, (name, kind, org_id, path, region) in enumerate([*ORGS, PARTNER]):
            org = orgs[org_id] = _seed_org(name, kind, org_id, path, region,
                                           sandbox=settings.SANDBOX_URL)
            result["orgs"].append({"id": org.id, "name": name, "provider_kind": kind,
                                   "provider_org_id": org_id,
                                   "partner_code": org.partner_code,
                                   "time_zone": org.time_zone})
            if (name, kind, org_id, path, region) != PARTNER:
                _seed_people(org, index, region, result)

        partner = orgs[PARTNER[2]]
        for org_id in DELEGATED:
            Delegation.objects.get_or_create(
                customer=orgs[org_id], partner=partner, revoked_at=None
            )
        _seed_users(orgs, partner, result)
        # The policy before the endpoint: its policy.updated is the seed's, not news.
        result["policy_org"] = _seed_policy(orgs[DEMO_POLICY_ORG])
        result["member_permissions"] = _seed_member_permissions(orgs[DEMO_LOCKED_ORG])
        result["event_endpoint"] = _seed_event_endpoint(orgs[DEMO_EVENTS_ORG],
                                                        sandbox=settings.SANDBOX_URL)

        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with:"))
        for u in result["users"]:
            self.stdout.write(f"  {u['email']:<28} {u['password']:<20} {u['role']:<14} "
                              f"{u['org'] or '(site staff)'}")
        locks = result["member_permissions"]
        self.stdout.write(f"Members of {locks['org']} may not change: "
                          f"{', '.join(locks['locked'])} (their admins may).")
        self.stdout.write(
            f"Admins have TOTP turned on; secret {DEMO_TOTP_SECRET} "
            f"(e.g. `oathtool --totp -b {DEMO_TOTP_SECRET}`)."
        )
