"""Every URL pattern of the site, straight from the URL resolver (includes recursed), and
a way to turn a pattern into a concrete path with the objects of a test world. A new URL
is therefore covered by the security tests the moment it is added to a urls module."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>")
# Regex bits the admin and allauth patterns use around their groups.
_REGEX_NOISE = re.compile(r"[\^$]")


@dataclass(frozen=True)
class Url:
    pattern: str  # the full pattern text, prefixes included
    name: str | None  # "namespace:name" where the pattern has a name
    callback: object

    @property
    def key(self) -> str:
        """The matrix key: the URL name, or the pattern for an unnamed URL."""
        return self.name or self.pattern

    @staticmethod
    def _fill_regex(text, values):
        """(?P<name>...) -> values[name], the group's parentheses balanced."""
        while (match := _REGEX_PARAM.search(text)) is not None:
            depth, end = 1, match.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            text = text[:match.start()] + str(values[match["name"]]) + text[end:]
        return text

    @property
    def params(self) -> list[str]:
        regex = [m["name"] for m in _REGEX_PARAM.finditer(self.pattern)]
        route = [m["name"] for m in _ROUTE_PARAM.finditer(self._fill_regex(self.pattern, {
            name: "" for name in regex}))]
        return regex + route

    def path(self, values: dict[str, str]) -> str:
        """The pattern with each parameter replaced by values[name]."""
        text = self._fill_regex(self.pattern, values)
        text = _ROUTE_PARAM.sub(lambda m: str(values[m["name"]]), text)
        path = "/" + _REGEX_NOISE.sub("", text)
        # The path must reach this very pattern, or the test would check another view.
        match = resolve(path)
        assert match.func == self.callback or _same_view(match.func, self.callback), (
            f"{path} resolves to {match.func!r}, not to the view of {self.pattern}")
        return path


def _same_view(a, b):
    return getattr(a, "view_class", None) is not None and \
        getattr(a, "view_class", None) is getattr(b, "view_class", None)


def _walk(patterns, prefix="", namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = ":".join(n for n in (namespace, entry.namespace) if n) or None
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield Url(prefix + str(entry.pattern), name, entry.callback)


def all_urls() -> list[Url]:
    return list(_walk(get_resolver().url_patterns))


def is_api(url: Url) -> bool:
    return url.pattern.startswith("api/v1/")


def is_admin(url: Url) -> bool:
    return url.pattern.startswith("admin/")


def is_accounts(url: Url) -> bool:
    return url.pattern.startswith("accounts/")


def view_methods(url: Url) -> list[str]:
    """The methods to try: GET and POST everywhere, and PUT, PATCH and DELETE on the API
    views too (those a view does not implement must answer 405; the matrix says which)."""
    methods = ["GET", "POST"]
    view_class = getattr(url.callback, "view_class", None)
    if is_api(url) and view_class is not None:
        methods += ["PUT", "PATCH", "DELETE"]
    return methods
