"""What every API view shares: authentication, the error shape, pagination, OPTIONS, the
schema's tags, the audit actor, and the API's form of
the MFA gate (`portal.access.needs_mfa`, answered with 403 instead of a redirect)."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from forwarding.api import errors
from forwarding.api.params import Pagination, parse_query
from portal import access, audit


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
