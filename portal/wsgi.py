import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
django_application = get_wsgi_application()

from portal.leanwsgi import LeanWSGI  # noqa: E402 (needs the settings configured)
from portal.startup import freeze_loaded_objects  # noqa: E402

# The Graph webhook in front of Django's handler (portal.leanwsgi); everything else is
# Django's.
application = LeanWSGI(django_application)


def _warm_up():
    """Build what the first requests would otherwise build while callers wait: the URL
    resolvers' reverse tables (every Graph redirect reverses its webhook URL; the first
    reverse() of a process populates the whole site's table, a few hundred ms of CPU under
    load) and the lean URLconf of the webhook."""
    from django.conf import settings
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 (populates the table)
    lean = getattr(settings, "LEAN_URLCONF", None)
    if lean:
        get_resolver(lean).reverse_dict  # noqa: B018


_warm_up()
# What the process made so far lives as long as it does: out of the collector's reach
# (portal.startup), so that a full collection does not pause a webhook or a page.
freeze_loaded_objects()
