"""The OpenAPI schema (/api/schema/) and the interactive API docs (/api/docs/).

Who may read them: API_DOCS_PUBLIC. In production (the default there: False) only
signed-in people and token holders: the API serves account holders only, and a map of
every endpoint, parameter and enum helps a stranger probe the site while helping no
one without an account. Development and test settings keep them public (the demo, and
the fuzz tests that load the schema as served).

The docs are Swagger UI from drf-spectacular-sidecar, so they work without internet,
under the site's Content-Security-Policy (`script-src 'self'`, `style-src 'self'`).
drf-spectacular's split view already serves the init script from a same-origin URL
(`?script`) instead of an inline <script>; its page template still carries an inline
<style> block, which the policy blocks, so this view renders a copy of the page without it.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission

from forwarding.api.errors import exception_handler


class DocsReader(BasePermission):
    """Everyone when API_DOCS_PUBLIC, otherwise signed-in callers (session or token).
    Read per request, so the setting can be overridden in tests."""

    def has_permission(self, request, view):
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


class ApiSchemaView(SpectacularAPIView):
    # Token first, as in the API: an anonymous caller gets 401 with `WWW-Authenticate`.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [DocsReader]

    def get_exception_handler(self):
        return exception_handler


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "partials/api_docs.html"
    title = "Call forwarding portal API"
    authentication_classes = [SessionAuthentication]
    permission_classes = [DocsReader]

    def handle_exception(self, exc):
        # A page, not an API answer: send an anonymous visitor to the sign-in page and
        # back (the template renderer has no error page to show instead).
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
