"""Register the organizations that point at the local provider sandbox (Webex people,
UCWA applications, Graph lines) in the running sandbox, and connect each of them through
its provider's real flow: the Webex authorization code with PKCE (approved on the
sandbox's consent page, as an admin would), Microsoft admin consent then client
credentials, the UCWA service account. No static tokens: the tokens are short-lived
(DEMO_TOKEN_LIFETIME_SECONDS), so the demo's audit log shows their renewals.

The sandbox keeps its state in memory, so `make run` calls this each time it starts one."""

import secrets
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from forwarding.calltime import webhook_orgs
from portal.audit import Actor
from portal.connections import services
from portal.connections.selectors import bot_app_id
from portal.models import Delegation, EventEndpoint, Organization, User

ACTOR = Actor.system("make run (sandbox_connect)")


class _Form(HTMLParser):
    """The consent page's form: its action and hidden fields."""

    def __init__(self):
        super().__init__()
        self.action, self.fields = "", {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action", "")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs.get("name", "")] = attrs.get("value", "")


class Sandbox:
    def __init__(self, base):
        self.base, self.http = base, requests.Session()

    def wait(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.http.get(f"{self.base}/_sandbox/health", timeout=2).raise_for_status()
                return
            except requests.RequestException as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"The sandbox does not answer at {self.base}: "
                                       f"{exc}") from exc
                time.sleep(0.5)

    def post(self, path, body):
        response = self.http.post(f"{self.base}/_sandbox/{path}", json=body, timeout=5)
        if response.status_code >= 400:
            raise CommandError(f"sandbox refused {path}: {response.text}")
        return response.json()

    def approve(self, url, **choices):
        """Open a consent page and press its approve button: the redirect's query."""
        page = self.http.get(url, timeout=5)
        if page.status_code != 200:
            raise CommandError(f"consent page {url} answered {page.status_code}")
        form = _Form()
        form.feed(page.text)
        answer = self.http.post(urljoin(url, form.action),
                                data={**form.fields, **choices, "decision": "approve"},
                                allow_redirects=False, timeout=5)
        query = parse_qs(urlsplit(answer.headers.get("Location", "")).query)
        if "error" in query:
            raise CommandError(f"consent refused: {query}")
        return {key: values[0] for key, values in query.items()}


def register_apps(sandbox):
    """The portal's own registrations at the sandbox's Webex and Microsoft."""
    lifetime = settings.DEMO_TOKEN_LIFETIME_SECONDS
    sandbox.post("webex/clients", {
        "clientId": settings.WEBEX_CLIENT_ID, "clientSecret": settings.WEBEX_CLIENT_SECRET,
        "redirectUris": [f"{settings.PUBLIC_URL}/connection/webex/callback"],
        "accessTokenLifetime": lifetime, "rotateRefreshTokens": True})
    sandbox.post("microsoft/apps", {
        "clientId": settings.MICROSOFT_CLIENT_ID,
        "clientSecret": settings.MICROSOFT_CLIENT_SECRET,
        "redirectUris": [f"{settings.PUBLIC_URL}/connection/microsoft/callback"],
        "accessTokenLifetime": lifetime})


def register_signin(sandbox):
    """The sign-in clients configured for this deployment (SIGNIN_*), and a work account
    at each identity provider for every demo user, so "Sign in with ..." works."""
    callback = f"{settings.PUBLIC_URL}/accounts/oidc/{{}}/login/callback/"
    idps = [("microsoft", settings.SIGNIN_MICROSOFT_CLIENT_ID,
             settings.SIGNIN_MICROSOFT_CLIENT_SECRET),
            ("webex", settings.SIGNIN_WEBEX_CLIENT_ID, settings.SIGNIN_WEBEX_CLIENT_SECRET)]
    for issuer, client_id, secret in idps:
        if not client_id:
            continue
        sandbox.post("idp/clients", {"issuer": issuer, "clientId": client_id,
                                     "clientSecret": secret,
                                     "redirectUris": [callback.format(issuer)]})
        for user in User.objects.filter(is_active=True).exclude(email=""):
            sandbox.post("idp/users", {"issuer": issuer, "email": user.email,
                                       "tenant": settings.SIGNIN_MICROSOFT_TENANT,
                                       "name": user.get_full_name() or user.email})


def connect(sandbox, org):
    """Connect one org through its provider's flow in the sandbox."""
    lifetime = settings.DEMO_TOKEN_LIFETIME_SECONDS
    if org.provider_kind == "webex":
        redirect_uri = f"{settings.PUBLIC_URL}/connection/webex/callback"
        url, state, verifier = services.start_webex(org, redirect_uri=redirect_uri)
        answer = sandbox.approve(url, orgId=org.provider_org_id)
        if answer.get("state") != state:
            raise CommandError("the Webex consent page returned another state")
        services.finish_webex(org, code=answer["code"], redirect_uri=redirect_uri,
                              code_verifier=verifier, actor=ACTOR)
    elif org.provider_kind == "graph":
        redirect_uri = f"{settings.PUBLIC_URL}/connection/microsoft/callback"
        state = secrets.token_urlsafe(16)
        answer = sandbox.approve(services.microsoft_consent_url(
            org, tenant=org.provider_org_id, redirect_uri=redirect_uri, state=state))
        services.finish_microsoft(org, tenant=answer.get("tenant", ""), actor=ACTOR)
    elif org.provider_kind == "ucwa":
        username, password = f"portal-service@{org.provider_org_id}", secrets.token_urlsafe(16)
        sandbox.post("ucwa/accounts", {"username": username, "password": password,
                                       "orgId": org.provider_org_id, "tokenLifetime": lifetime})
        services.connect_ucwa(org, token_url=f"{sandbox.base}/ucwa/WebTicket/oauthtoken",
                              username=username, password=password, actor=ACTOR)


def register_people(sandbox, org):
    count = 0
    for person in org.people.all():
        if org.provider_kind == "webex":
            sandbox.post("webex/people", {"orgId": org.provider_org_id,
                                          "personId": person.provider_person_id})
        elif org.provider_kind == "ucwa":
            # The application also accepts the service account's tokens for its org.
            sandbox.post("ucwa/applications", {"applicationId": person.provider_person_id,
                                               "token": secrets.token_urlsafe(16),
                                               "orgId": org.provider_org_id})
        elif org.provider_kind == "graph":
            # The person's Teams line: simulated calls on it notify the org's webhook, in
            # the org's API version, with tokens for the portal's bot.
            sandbox.post("graph/lines", {"lineId": person.provider_person_id,
                                         "orgId": org.provider_org_id,
                                         "callbackUrl": webhook_orgs.webhook_url(org),
                                         "apiVersion": org.graph_api_version,
                                         "identityType": "user",
                                         "appId": bot_app_id(org),
                                         "displayName": person.display_name})
        else:
            continue
        count += 1
    return count


def register_event_receivers(sandbox) -> int:
    """Give each sandbox receiver that an event endpoint points at the endpoint's current
    secret, so what it records says whether the signature checks out."""
    prefix = f"{sandbox.base}/events/"
    count = 0
    for endpoint in EventEndpoint.objects.filter(url__startswith=prefix):
        name = endpoint.url[len(prefix):].strip("/")
        sandbox.http.put(f"{sandbox.base}/_sandbox/events/{name}",
                         json={"secret": endpoint.secrets.get("current")}, timeout=5)
        count += 1
    return count


class Command(BaseCommand):
    help = "Register sandbox-backed organizations and people, and connect each org."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=0,
                            help="seconds to wait for the sandbox to answer")
        parser.add_argument("--announce", action="store_true",
                            help="print the portal URL and the demo logins afterwards")

    def handle(self, *args, **options):
        sandbox = Sandbox(settings.SANDBOX_URL)
        sandbox.wait(options["wait"])
        orgs = [o for o in Organization.objects.all() if o.base_url.startswith(sandbox.base)]
        register_apps(sandbox)
        register_signin(sandbox)
        people = 0
        for org in orgs:
            customers = list(Delegation.objects.active().filter(partner=org)
                             .values_list("customer__provider_org_id", flat=True))
            if org.provider_kind == "webex":
                sandbox.post("webex/orgs", {"orgId": org.provider_org_id, "name": org.name,
                                            "partnerFor": customers})
            if org.rate_limit_per_second:
                sandbox.http.put(f"{sandbox.base}/_sandbox/ratelimits/{org.provider_org_id}",
                                 json={"perSecond": org.rate_limit_per_second * 2}, timeout=5)
            people += register_people(sandbox, org)
            try:
                connect(sandbox, org)
            except services.ConnectError as exc:
                raise CommandError(f"{org.name} could not be connected: {exc.message}") from exc
        receivers = register_event_receivers(sandbox)
        self.stdout.write(f"Sandbox at {sandbox.base}: {len(orgs)} organizations connected, "
                          f"{people} people registered, {receivers} event receivers.")
        if options["announce"]:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(
                f"The portal is up: {settings.PUBLIC_URL}/ (Ctrl-C stops everything)"))
            call_command("seed_demo", stdout=self.stdout)
