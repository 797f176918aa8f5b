"""Register the organizations that point at the local provider sandbox (tokens, Webex
people, UCWA applications, Graph lines) in the running sandbox. The sandbox keeps its
state in memory, so `make run` calls this each time it starts one."""

import time

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from forwarding.calltime import webhook_orgs
from portal.connections.selectors import bot_app_id
from portal.models import Delegation, Organization


class Command(BaseCommand):
    help = "Register sandbox-backed organizations and people in the running sandbox."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=0,
                            help="seconds to wait for the sandbox to answer")
        parser.add_argument("--announce", action="store_true",
                            help="print the portal URL and the demo logins afterwards")

    def handle(self, *args, **options):
        base = settings.SANDBOX_URL
        http = requests.Session()
        deadline = time.monotonic() + options["wait"]
        while True:
            try:
                http.get(f"{base}/_sandbox/health", timeout=2).raise_for_status()
                break
            except requests.RequestException as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"The sandbox does not answer at {base}: {exc}") from exc
                time.sleep(0.5)

        def post(path, body):
            response = http.post(f"{base}/_sandbox/{path}", json=body, timeout=5)
            if response.status_code >= 400:
                raise CommandError(f"sandbox refused {path}: {response.text}")

        orgs = [o for o in Organization.objects.all() if o.base_url.startswith(base)]
        people = 0
        for org in orgs:
            token = org.credentials.get("token", "")
            customers = list(
                Delegation.objects.active().filter(partner=org)
                .values_list("customer__provider_org_id", flat=True)
            )
            post("tokens", {"token": token, "orgId": org.provider_org_id,
                            "partnerFor": customers})
            if org.rate_limit_per_second:
                http.put(f"{base}/_sandbox/ratelimits/{org.provider_org_id}",
                         json={"perSecond": org.rate_limit_per_second * 2}, timeout=5)
            for person in org.people.all():
                if org.provider_kind == "webex":
                    post("webex/people", {"orgId": org.provider_org_id,
                                          "personId": person.provider_person_id})
                elif org.provider_kind == "ucwa":
                    post("ucwa/applications", {"applicationId": person.provider_person_id,
                                               "token": token, "orgId": org.provider_org_id})
                elif org.provider_kind == "graph":
                    # The person's Teams line: simulated calls on it notify the org's
                    # webhook, in the org's API version, with a token for the org's bot.
                    post("graph/lines", {"lineId": person.provider_person_id,
                                         "orgId": org.provider_org_id,
                                         "callbackUrl": webhook_orgs.webhook_url(org),
                                         "apiVersion": org.graph_api_version,
                                         "identityType": "user",
                                         "displayName": person.display_name,
                                         "appId": bot_app_id(org)})
                else:
                    continue
                people += 1
        self.stdout.write(f"Sandbox at {base}: {len(orgs)} organizations, {people} people "
                          f"registered.")
        if options["announce"]:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(
                f"The portal is up: {settings.PUBLIC_URL}/ (Ctrl-C stops everything)"))
            call_command("seed_demo", stdout=self.stdout)
