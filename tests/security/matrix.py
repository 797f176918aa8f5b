"""THE authorization matrix: for every URL of the site and the API, every method and every
role, the answer expected. tests/security/test_authz_matrix.py enumerates the URLs from
the resolver; a URL (or a method of it) missing here fails that test by name.

A row lists the roles in this order (see world.ROLES):

    anonymous  member  member_b  admin  admin_b  partner  lonely_partner  staff

member: a member of org A (linked to their own person, Mia); member_b: the same in org B;
admin: org A's admin (TOTP on); admin_b: org B's admin; partner: an admin of a partner org
that org A delegated to; lonely_partner: an admin of a partner org without a delegation;
staff: is_staff + is_superuser, in no org. URL parameters name objects of org A: a person
of A who is not the member's own (Bob), org A, A's delegation, a bulk job of A ...

Cells: a status code ("404"), "login" (302 to the sign-in page), "mfa" (302 to TOTP
set-up), several allowed answers joined by "|" ("200|302"). Any answer that is not a
success (2xx, or a 302 other than to sign-in / MFA set-up) must leave the database as it
was; so must every GET.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile

from forwarding.models import ForwardingSettings
from portal.models import AuditEvent

ROLE_ORDER = ("anonymous", "member", "member_b", "admin", "admin_b", "partner",
              "lonely_partner", "staff")


@dataclass(frozen=True)
class Json:
    body: object


@dataclass(frozen=True)
class Raw:
    body: bytes
    content_type: str = "application/json"


@dataclass
class Entry:
    cells: dict[str, str]  # method -> one row of the table
    data: object = None  # callable(world, role, target) -> dict | Json | Raw, for writes
    org: str | None = None  # the world's org to use for org parameters instead of org A
    # True: an allowed write must change something (proves the body would bite).
    writes: bool = False

    def expected(self, method, role):
        row = self.cells.get(method)
        if row is None:
            return None
        tokens = row.split()
        assert len(tokens) == len(ROLE_ORDER), f"{row!r}: {len(tokens)} cells, not 8"
        return set(tokens[ROLE_ORDER.index(role)].split("|"))


def url(data=None, org=None, writes=False, **cells):
    return Entry(cells=cells, data=data, org=org, writes=writes)


# Rows used again and again.
PAGE_405 = "login 405 405 405 405 405 405 405"  # a page that refuses the method
API_405 = "401 405 405 405 405 405 405 405"  # an API view without the method
EVERYONE = "200 200 200 200 200 200 200 200"
SIGNED_IN = "401 200 200 200 200 200 200 200"
# Org A's admin and the delegated partner only (pages, then API).
ADMINS_200 = "login 404 404 200 404 200 404 404"
ADMINS_302 = "login 404 404 302 404 302 404 404"
API_ADMINS = "401 404 404 200 404 200 404 404"
API_ADMINS_202 = "401 404 404 202 404 202 404 404"
# Org A's admin only: what they made themselves (a dry run).
OWNER_200 = "login 404 404 200 404 404 404 404"
# Org A's own admin only (not the partner acting for it): its provider connection.
OWN_ADMIN_200 = OWNER_200
OWN_ADMIN_302 = "login 404 404 302 404 404 404 404"
API_OWNER = "401 404 404 200 404 404 404 404"


def api(**cells):
    """An API URL: methods not given answer 405 (401 when anonymous)."""
    data, writes = cells.pop("data", None), cells.pop("writes", False)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        cells.setdefault(method, API_405)
    return Entry(cells=cells, data=data, writes=writes)


# --- request bodies that would change something if they were allowed ------------------------


def _version(person):
    row = ForwardingSettings.objects.filter(person=person).only("version").first()
    return row.version if row is not None else 1


def _own_line(w, role, target):
    user = w.user(role)
    own = user.people.first() if user is not None else None
    return {"version": _version(own) if own else 1, "busy_enabled": "on",
            "busy_destination": "2009"}


def _person_form(w, role, target):
    return {"version": _version(target["person"]), "busy_enabled": "on",
            "busy_destination": "2009"}


def _restore(w, role, target):
    person = target["person"]
    event = AuditEvent.objects.filter(person=person, event="forwarding.updated").order_by(
        "id").first()
    return {"event": event.pk if event else 0, "version": _version(person)}


def _csv(target):
    person = target["person"]
    text = f"email,busy_enabled,busy_destination\n{person.email},yes,2010\n"
    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def _forwarding_json(w, role, target):
    return Json({"version": _version(target["person"]), "busy_enabled": True,
                 "busy_destination": "2012"})


def _bulk_edit_json(w, role, target):
    return Json({"people": [target["person"].pk], "feature": "busy", "action": "set",
                 "destination": "2013", "dry_run": False})


TABLE: dict[str, Entry] = {
    # --- portal ------------------------------------------------------------------------
    #                anon  member m_b   admin a_b   partner lonely staff
    "home": url(GET="login 302   302   200   302   200    302    200",
                POST="login 302  302   200   302   200    302    200"),
    "healthz": url(GET=EVERYONE, POST=EVERYONE),
    # The token in the link lets a new address choose a password (it went to the
    # invitee's mailbox); it never signs into an existing account. Somebody signed in as
    # another address gets a page saying so (403), and nothing changes.
    "invitation_accept": url(writes=True,
        GET="200 403 403 403 403 403 403 403", POST="302 403 403 403 403 403 403 403",
        data=lambda w, role, t: {"password1": "Plenty-0f-entropy", "password2":
                                 "Plenty-0f-entropy"}),
    # POST only re-renders the page (the view does not restrict methods); it writes nothing.
    "org_settings": url(GET=ADMINS_200, POST=ADMINS_200),
    # Its admins, or the partner acting for it (audited as such).
    "org_time_zone": url(writes=True, GET=PAGE_405, POST=ADMINS_302,
                         data=lambda w, role, t: {"time_zone": "Pacific/Auckland"}),
    # What members may change themselves: its admins, or the partner acting for it.
    "org_member_permissions": url(writes=True, GET=ADMINS_200, POST=ADMINS_302,
                                  data=lambda w, role, t: {"allowed": ["always"]}),
    "org_invite": url(writes=True,
        GET=PAGE_405, POST="login 404 404 302 404 403 404 404",
        data=lambda w, role, t: {"email": "intruder@example.net", "role": "admin"}),
    "delegation_grant": url(writes=True,
        GET=PAGE_405, POST="login 404 404 302 404 403 404 404",
        data=lambda w, role, t: {"partner_code": w.lonely_org.partner_code}),
    "delegation_revoke": url(writes=True, GET=PAGE_405, POST="login 404 404 302 404 403 404 404"),
    # Offboarding and the webhook key: the org's own admins only (the partner gets 403).
    "member_remove": url(writes=True, GET=PAGE_405, POST="login 404 404 302 404 403 404 404"),
    # Bob has no account linked, so the allowed POST changes nothing here;
    # tests/portal/test_offboarding.py proves the unlink itself.
    "person_unlink": url(GET=PAGE_405, POST="login 404 404 302 404 403 404 404"),
    "webhook_key_rotate": url(writes=True, GET=PAGE_405, org="graph_org",
                              POST="login 404 404 302 404 403 404 404"),
    # --- the Connection page: the organization's own admins (with TOTP) only; a partner
    # acting for the customer does not manage its connection (404, like a stranger).
    "connection": url(GET=OWN_ADMIN_200, POST=PAGE_405),
    # Starting a flow sends the admin to the provider (or back with a message).
    "connection_webex_start": url(GET=PAGE_405, POST=OWN_ADMIN_302),
    "connection_microsoft_start": url(GET=PAGE_405, POST=OWN_ADMIN_302, org="graph_org"),
    # The token endpoint in the body refuses the connection (nothing listens there): the
    # form comes back with the error (400), nothing stored.
    "connection_ucwa": url(GET=PAGE_405, POST="login 404 404 400 404 404 404 404",
                           org="org_a_ucwa", data=lambda w, role, t: {
                               "token_url": "http://127.0.0.1:9/WebTicket/oauthtoken",
                               "username": "svc", "password": "intruder-password"}),
    # GET asks for confirmation; POST forgets org A's tokens.
    "connection_disconnect": url(writes=True, GET=OWN_ADMIN_200, POST=OWN_ADMIN_302),
    # The provider sends the browser back here; without a flow this session started there
    # is nothing to finish, whoever asks.
    "connection_webex_callback": url(GET="login 400 400 400 400 400 400 400", POST=PAGE_405),
    "connection_microsoft_callback": url(GET="login 400 400 400 400 400 400 400",
                                         POST=PAGE_405),
    # --- Events (outgoing events): the organization's own admins (with TOTP) only, like its
    # connection; a partner acting for the customer does not choose where its changes go.
    # Adding answers the page with the secret (200, shown once).
    "org_events": url(writes=True, GET=OWN_ADMIN_200, POST=OWN_ADMIN_200,
                      data=lambda w, role, t: {"url": "https://intruder.example/hook"}),
    "event_endpoint": url(GET=OWN_ADMIN_200, POST=PAGE_405),
    "event_endpoint_rotate": url(writes=True, GET=PAGE_405, POST=OWN_ADMIN_200),
    # Without `enabled=on` the POST disables the (enabled) endpoint.
    "event_endpoint_enable": url(writes=True, GET=PAGE_405, POST=OWN_ADMIN_302),
    "event_endpoint_test": url(writes=True, GET=PAGE_405, POST=OWN_ADMIN_302),
    "event_endpoint_delete": url(writes=True, GET=PAGE_405, POST=OWN_ADMIN_302),
    # --- Destination policy: the organization's own admins (with TOTP) only; a partner
    # acting for the customer is bound by it but does not write it, members see nothing.
    "org_policy": url(writes=True, GET=OWN_ADMIN_200, POST=OWN_ADMIN_302,
                      data=lambda w, role, t: {"deny_patterns": "+4930*",
                                               "allow_international": "on"}),
    # Without a feature it sends back to the policy's listing.
    "org_policy_fix": url(GET=OWN_ADMIN_302, POST=PAGE_405),
    "person_policy_exception": url(writes=True, GET=PAGE_405, POST=OWN_ADMIN_302,
                                   data=lambda w, role, t: {"pattern": "+33*"}),
    "person_policy_exception_revoke": url(writes=True, GET=PAGE_405, POST=OWN_ADMIN_302),
    # --- API -----------------------------------------------------------------------------
    "api_policy": api(writes=True, GET=API_OWNER, PUT=API_OWNER,
                      DELETE="401 404 404 204 404 404 404 404",
                      data=lambda w, role, t: Json({"deny_patterns": ["+4930*"]})),
    "api_policy_exceptions": api(writes=True, GET=API_OWNER,
                                 POST="401 404 404 201 404 404 404 404",
                                 data=lambda w, role, t: Json({"person": t["person"].pk,
                                                               "pattern": "+33*"})),
    "api_policy_exception": api(writes=True, DELETE="401 404 404 204 404 404 404 404"),
    "api_policy_forbidden": api(GET=API_OWNER),
    "api_people": api(GET=SIGNED_IN),
    "api_person": api(writes=True, GET=API_ADMINS, PATCH=API_ADMINS,
                      data=lambda w, role, t: Json({"time_zone": "Pacific/Auckland"})),
    "api_person_forwarding": api(writes=True, GET=API_ADMINS, PUT=API_ADMINS, PATCH=API_ADMINS,
                                 data=_forwarding_json),
    "api_person_sync": api(GET=API_ADMINS),
    "api_person_sync_retry": api(writes=True, POST=API_ADMINS),
    "api_audit_events": api(GET=SIGNED_IN),
    "api_organizations": api(GET=SIGNED_IN),
    # A member sees their own org (without its health counts).
    "api_organization": api(writes=True, GET="401 200 404 200 404 200 404 404",
                            PATCH="401 403 404 200 404 200 404 404",
                            data=lambda w, role, t: Json({"time_zone": "Pacific/Auckland"})),
    "api_organization_member_permissions": api(
        writes=True, GET=API_ADMINS, PUT=API_ADMINS,
        data=lambda w, role, t: Json({"locked": ["busy", "dnd"]})),
    "api_delegations": api(writes=True,
        GET=SIGNED_IN, POST="401 404 404 201 404 403 404 404",
        data=lambda w, role, t: Json({"customer": t["org"].pk,
                                      "partner_code": w.lonely_org.partner_code})),
    "api_delegation": api(GET=API_ADMINS),
    "api_delegation_revoke": api(writes=True, POST="401 404 404 200 404 403 404 404"),
    "api_organization_export": api(GET=API_ADMINS),
    # The audit log export: whoever reads the org's audit page.
    "api_organization_audit_export": api(GET=API_ADMINS),
    # Event endpoints: the org's own admins only (writes need TOTP, which they have).
    "api_event_endpoints": api(writes=True, GET=API_OWNER,
                               POST="401 404 404 201 404 404 404 404",
                               data=lambda w, role, t: Json({"url": "https://intruder.example/h"})),
    "api_event_endpoint": api(writes=True, GET=API_OWNER, PATCH=API_OWNER,
                              DELETE="401 404 404 204 404 404 404 404",
                              data=lambda w, role, t: Json({"enabled": False})),
    "api_event_endpoint_rotate": api(writes=True, POST=API_OWNER),
    "api_event_endpoint_test": api(writes=True, POST="401 404 404 202 404 404 404 404"),
    "api_event_endpoint_deliveries": api(GET=API_OWNER),
    "api_organization_import": api(writes=True,
        POST=API_ADMINS_202, data=lambda w, role, t: {"file": _csv(t), "dry_run": "false"}),
    "api_organization_bulk_edit": api(writes=True, POST=API_ADMINS_202, data=_bulk_edit_json),
    "api_bulk_jobs": api(GET=SIGNED_IN),
    "api_bulk_job": api(GET=API_ADMINS),
    "api_bulk_job_rows": api(GET=API_ADMINS),
    "api_bulk_job_undo": api(writes=True, POST=API_ADMINS_202),
    # A dry run is its maker's alone (org A's admin made it): anybody else gets 404.
    "api_bulk_draft": api(GET=API_OWNER),
    "api_bulk_draft_rows": api(GET=API_OWNER),
    "api_bulk_draft_apply": api(writes=True, POST="401 404 404 202 404 404 404 404"),
    # The schema and its docs describe the API, not anybody's data: public under these
    # (test) settings; production requires sign-in (API_DOCS_PUBLIC=False, tested in
    # tests/api/test_schema.py and tests/portal/test_configuration.py).
    "api_schema": url(GET=EVERYONE, POST="405 405 405 405 405 405 405 405"),
    "api_docs": url(GET=EVERYONE, POST="405 405 405 405 405 405 405 405"),
    # Any other path under /api/ answers the API's JSON 404, whoever asks.
    "api_not_found": url(GET="404 404 404 404 404 404 404 404",
                         POST="404 404 404 404 404 404 404 404"),
    # --- forwarding pages ----------------------------------------------------------------
    #                     anon  member m_b   admin a_b   partner lonely staff
    "my_forwarding": url(writes=True, GET="login 200  200   404   404   404    404    404",
                         POST="login 302 302   404   404   404    404    404",
                         data=_own_line),
    "org_people": url(GET=ADMINS_200, POST=PAGE_405),
    "org_audit": url(GET=ADMINS_200, POST=PAGE_405),
    # Without file_format it is the download form; the test world's rows stream the same.
    "org_audit_export": url(GET=ADMINS_200, POST=PAGE_405),
    "person_forwarding": url(writes=True, GET=ADMINS_200, POST=ADMINS_302, data=_person_form),
    "person_history": url(GET=ADMINS_200, POST=PAGE_405),
    # GET is the confirmation page of ?event=<id>; without one there is nothing to show.
    "person_restore": url(writes=True, GET="login 404 404 404 404 404 404 404",
                          POST=ADMINS_302, data=_restore),
    "person_test": url(GET=ADMINS_200, POST=PAGE_405),
    "person_time_zone": url(writes=True, GET=PAGE_405, POST=ADMINS_302,
                            data=lambda w, role, t: {"time_zone": "Pacific/Auckland"}),
    "org_switcher": url(GET="login 404 404 200 200 200 200 404", POST=PAGE_405),
    # POST is the dry run: it shows what would change and writes nothing.
    "bulk_import": url(GET=ADMINS_200, POST=ADMINS_200,
                       data=lambda w, role, t: {"file": _csv(t)}),
    "bulk_import_apply": url(GET=PAGE_405, POST=ADMINS_302,
                             data=lambda w, role, t: {"token": "a-dry-run-token"}),
    "bulk_export": url(GET=ADMINS_200, POST=PAGE_405),
    # A dry run is its maker's alone (org A's admin made it): anybody else gets 404.
    "bulk_draft": url(GET=OWNER_200, POST=PAGE_405),
    # The world's dry run is ready: nothing to queue, back to its page.
    "bulk_draft_requeue": url(GET=PAGE_405, POST="login 404 404 302 404 404 404 404"),
    "bulk_edit": url(writes=True, GET=PAGE_405, POST=ADMINS_302,
                     data=lambda w, role, t: {"people": [t["person"].pk], "feature": "busy",
                                              "action": "set", "destination": "2014"}),
    "bulk_job": url(GET=ADMINS_200, POST=PAGE_405),
    "bulk_job_progress": url(GET=ADMINS_200, POST=PAGE_405),
    # GET is the confirmation page: what undo would change; POST does it.
    "bulk_job_undo": url(writes=True, GET=ADMINS_200, POST=ADMINS_302),
    "bulk_job_resume": url(GET=PAGE_405, POST=ADMINS_302),
    "sync_retry": url(writes=True, GET=PAGE_405, POST=ADMINS_302),
    "sync_check": url(writes=True, GET=PAGE_405, POST=ADMINS_302),
    # What the person page's script polls: whoever may see the page (the member's own
    # line is covered by tests/pages/test_sync_views.py).
    "sync_state": url(GET=ADMINS_200, POST=PAGE_405),
    "drift_resolve": url(writes=True, GET=PAGE_405, POST=ADMINS_302,
                         data=lambda w, role, t: {"choice": "override"}),
    # --- call time -----------------------------------------------------------------------
    # The key in the URL and Graph's signed bearer token authenticate Graph; who is
    # signed in does not matter. No token: 401 before the body (not valid JSON either)
    # is read, so nothing may be recorded.
    "graph_webhook": url(GET="405 405 405 405 405 405 405 405",
                         POST="401 401 401 401 401 401 401 401",
                         data=lambda w, role, t: Raw(b"{not json")),
    "person_calls": url(GET=ADMINS_200, POST=PAGE_405),
    "lync_manifest": url(writes=True, GET=PAGE_405, POST=ADMINS_200, org="org_a_lync"),
    # --- Sign in with a work account (allauth's social accounts) ------------------------
    # The IdP routes are sign-in steps, public by nature: who they sign in as depends on
    # what the IdP vouches for, never on the caller (tests/portal/test_signin_work_account.py,
    # tests/browser/test_work_account_journeys.py). The world configures no IdP, so an
    # IdP id answers 404 to everyone.
    "openid_connect_login": url(GET="404 404 404 404 404 404 404 404",
                                POST="404 404 404 404 404 404 404 404"),
    "openid_connect_callback": url(GET="404 404 404 404 404 404 404 404",
                                   POST="404 404 404 404 404 404 404 404"),
    # Links of one's own account: sign in first; a POST without an account to remove
    # changes nothing.
    "socialaccount_connections": url(GET="login 200 200 200 200 200 200 200",
                                     POST="login 200 200 200 200 200 200 200"),
    # Nobody is signed up through an IdP: with no pending sign-in it sends to sign in.
    "socialaccount_signup": url(GET=" ".join(["login"] * 8), POST=" ".join(["login"] * 8)),
    # allauth's "sign-in failed" page answers 401 (the refusals of the portal's rule
    # have their own page, 403).
    "socialaccount_login_error": url(GET=" ".join(["401"] * 8),
                                     POST=" ".join(["405"] * 8)),
    # allauth's old addresses of the same pages: a permanent redirect to the new ones.
    **{f"accounts/social/{old}": url(GET=" ".join(["301"] * 8), POST=" ".join(["301"] * 8))
       for old in ("login/cancelled/", "login/error/", "signup/", "connections/")},
    # --- Django's admin, where the prefix rule below does not fit -----------------------
    # Signing out is open to anyone signed in (and sends a non-staff user to /admin/,
    # which then asks them to sign in); it changes nothing but the session.
    "admin:logout": url(GET="302 302 302 302 302 302 302 405",
                        POST="302 302 302 302 302 302 302 200"),
}

# Prefix rules for Django's admin and allauth's pages: role -> allowed answers, by method.
# Non-staff users never get an admin page (anonymous: the sign-in page; signed in: the
# admin login refuses them with 403 or sends them to sign in again).
_ADMIN_REFUSED = "login|403|404"


@dataclass
class PrefixRule:
    cells: dict[str, str] = field(default_factory=dict)
    data: object = None
    org: str | None = None

    def expected(self, method, role):
        return Entry(self.cells).expected(method, role)


PREFIX_RULES: dict[str, PrefixRule] = {
    "admin/": PrefixRule(
        cells={m: " ".join([_ADMIN_REFUSED] * 7 + ["200|302|403|404|405"])
               for m in ("GET", "POST")},
        data=lambda w, role, t: {"post": "yes"}),
    # allauth's own pages are public; what a signed-in or anonymous user sees there is
    # allauth's business (a redirect, a form, a 404 for a bad key), never a 500.
    "accounts/": PrefixRule(
        cells={m: " ".join(["200|302|login|mfa|400|403|404|405"] * 8)
               for m in ("GET", "POST")}),
}


def entry_for(key: str, pattern: str):
    if key in TABLE:
        return TABLE[key]
    for prefix, rule in PREFIX_RULES.items():
        if pattern.startswith(prefix):
            return rule
    return None


def encode(body):
    """Client keyword arguments for a request body."""
    if body is None:
        return {}
    if isinstance(body, Json):
        return {"data": json.dumps(body.body), "content_type": "application/json"}
    if isinstance(body, Raw):
        return {"data": body.body, "content_type": body.content_type}
    return {"data": body}
