"""The WSGI entry of the machine-to-machine paths (the Graph bot's webhook): in front of
Django's WSGIHandler, so that a notification costs neither Django's request machinery
nor the site's middleware.

portal.middleware.LeanPathMiddleware already skips every middleware below it for these
paths; Django's handler still ran around it for every request: the request_started and
request_finished signals (close_old_connections over every database alias, the cache
framework's close, the URLconf reset), the middleware chain's adapters, and a response
object whose close() sends request_finished again. Under a burst of calls that was about
a tenth of the web process's CPU for Graph beta's four notifications per call
(bench/graph_latency.py, py-spy --gil).

Here a path under LEAN_PATH_PREFIXES that LEAN_URLCONF resolves is served by its view
behind the middleware listed above LeanPathMiddleware in MIDDLEWARE (SecurityMiddleware:
its HTTPS redirect and headers still apply), and nothing else:

- a view's Http404 (an unknown webhook key), and any path the lean URLconf does not
  know, go to Django's handler as before: the site's own 404 page;
- any other exception is answered as Django answers it (logged by django.request, the
  site's 500 handler) below the middleware, so the answer gets SecurityMiddleware's
  headers, and a 4xx is logged by django.request as Django's handler does;
- a database connection that saw an error or is older than CONN_MAX_AGE is closed after
  the request (what close_old_connections would do); a healthy one is kept and not
  health-checked again before the next request, like the redirect threads' connections
  (forwarding.calltime.threads).

The Django test client does not come through here (it has its own handler):
LeanPathMiddleware keeps serving these paths there, with the same views.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest, get_script_name
from django.http import Http404
from django.urls import Resolver404, resolve, set_script_prefix
from django.utils.log import log_response
from django.utils.module_loading import import_string

from portal.dbconnections import tidy_connections

LEAN_MIDDLEWARE = "portal.middleware.LeanPathMiddleware"


class LeanWSGI:
    def __init__(self, application):
        self.application = application  # Django's WSGIHandler: everything else
        self.prefixes = tuple(getattr(settings, "LEAN_PATH_PREFIXES", ()))
        self.urlconf = getattr(settings, "LEAN_URLCONF", None)
        middleware = list(settings.MIDDLEWARE)
        if not self.urlconf or LEAN_MIDDLEWARE not in middleware:
            self.prefixes = ()  # no lean paths configured: Django serves everything
        self.handler = self._view
        for path in reversed(middleware[:middleware.index(LEAN_MIDDLEWARE)]
                             if self.prefixes else []):
            try:
                self.handler = import_string(path)(self.handler)
            except MiddlewareNotUsed:
                continue

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not self.prefixes or not path.startswith(self.prefixes):
            return self.application(environ, start_response)
        try:
            match = resolve(path, self.urlconf)
        except Resolver404:
            return self.application(environ, start_response)
        set_script_prefix(get_script_name(environ))
        request = WSGIRequest(environ)
        request.resolver_match = match
        try:
            response = self.handler(request)
        except Http404:
            # The whole stack answers, with the site's 404 page (the body is unread).
            return self.application(environ, start_response)
        except Exception as exc:
            response = response_for_exception(request, exc)
        finally:
            tidy_connections()
        if response.status_code >= 400:
            # As Django's handler: a refusal is logged by django.request (redacted there).
            log_response("%s: %s", response.reason_phrase, request.path, response=response,
                         request=request)
        if response.streaming:  # not a webhook's answer; Django's own way then
            return self._django_response(response, start_response)
        start_response(f"{response.status_code} {response.reason_phrase}",
                       _headers(response))
        # The content alone: the response's close() would send request_finished.
        return [response.content]

    @staticmethod
    def _view(request):
        """The view, its error turned into Django's answer here, below the middleware,
        as Django's handler wraps each layer (convert_exception_to_response): the 500
        then gets SecurityMiddleware's headers too. Http404 goes up, to be served by the
        whole stack."""
        match = request.resolver_match
        try:
            return match.func(request, *match.args, **match.kwargs)
        except Http404:
            raise
        except Exception as exc:
            return response_for_exception(request, exc)

    def _django_response(self, response, start_response):
        response._handler_class = self.application.__class__
        start_response(f"{response.status_code} {response.reason_phrase}",
                       _headers(response))
        return response


def _headers(response) -> list:
    return [*response.items(),
            *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values())]
