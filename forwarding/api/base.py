"""What every API view shares: authentication, the error shape, pagination, OPTIONS, the
schema's tags, the audit actor, and the API's form of
the MFA gate (`portal.access.needs_mfa`, answered with 403 instead of a redirect)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import rest_framework
from django.utils.html import conditional_escape
from drf_spectacular.openapi import AutoSchema
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from forwarding.api import errors
from forwarding.api.params import Pagination, parse_query
from portal import access, audit
from portal.middleware import allow_inline_styles


class PortalSchema(AutoSchema):
    def get_tags(self):
        # /api/v1/people/{id}/forwarding/ -> "people"; the version is not a topic.
        parts = [p for p in self.path.split("/") if p]
        if len(parts) > 2 and parts[:2] == ["api", "v1"]:
            return [parts[2]]
        return super().get_tags()


class Metadata(SimpleMetadata):
    """OPTIONS answers the view's name, description and formats. DRF's default would also
    describe the PUT/POST body by building the serializer (and, for PUT, the object) for
    a made-up request, which these views, choosing both inside their handlers, do not
    support: it answered 500."""

    def determine_actions(self, request, view):
        return {}


class BrowsableRenderer(BrowsableAPIRenderer):
    """DRF's browsable API (a browser's `Accept: text/html`), without the form of DRF's
    filter backends, which this API does not use: its filters are the query serializers
    of forwarding.api.params. Building that form asked every list view for
    `get_queryset()`, which these views do not have (each chooses its rows inside its
    handler), and a browser's GET of a list answered 500."""

    def get_filter_form(self, data, view, request):
        if not getattr(view, "filter_backends", None):
            return None
        return super().get_filter_form(data, view, request)

    def get_context(self, data, accepted_media_type, renderer_context):
        context = super().get_context(data, accepted_media_type, renderer_context)
        # The page's one <style> element holds Pygments' CSS for code samples, as the
        # template autoescapes it.
        code_style = context.get("code_style")
        self._style_elements = (str(conditional_escape(code_style)),) if code_style else ()
        return context

    def render(self, data, accepted_media_type=None, renderer_context=None):
        self._style_elements = ()
        html = super().render(data, accepted_media_type, renderer_context)
        response = (renderer_context or {}).get("response")
        if response is not None:
            # DRF's base template has a <style> element and a few style attributes, which
            # the site's CSP refused: a console error on every browsable page, and its
            # code samples and form tabs unstyled.
            allow_inline_styles(response, elements=self._style_elements,
                                attributes=drf_template_styles())
        return html


_STYLE_ATTRIBUTE = re.compile(r'style="([^"]*)"')


@lru_cache(maxsize=1)
def drf_template_styles() -> tuple[str, ...]:
    """The inline style values of the installed DRF's own templates, read once: they
    follow DRF's upgrades, and only DRF's files (never data) decide what is allowed."""
    folder = Path(rest_framework.__file__).parent / "templates" / "rest_framework"
    found = set()
    for template in folder.rglob("*.html"):
        found.update(_STYLE_ATTRIBUTE.findall(template.read_text(encoding="utf-8")))
    return tuple(sorted(found))


class PortalAPIView(GenericAPIView):
    # Token first: an anonymous caller gets 401 with `WWW-Authenticate: Token` (with the
    # session class first DRF would answer 403, which says nothing about signing in).
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    pagination_class = Pagination
    metadata_class = Metadata
    renderer_classes = [JSONRenderer, BrowsableRenderer]
    schema = PortalSchema()

    def get_exception_handler(self):
        return errors.exception_handler

    def query(self, serializer_class):
        """The query parameters, checked by `serializer_class` (400 when bad)."""
        return parse_query(self.request, serializer_class)

    def actor(self, via_partner=None):
        return audit.actor_from_request(self.request, via_partner=via_partner)


def require_mfa(user, person=None):
    """403 when `user` would change somebody else's settings (`person`'s, or anybody's
    when no person is given) without TOTP: the rule of the pages, as the API answers it."""
    if access.needs_mfa(user, person):
        raise errors.MfaRequired()
