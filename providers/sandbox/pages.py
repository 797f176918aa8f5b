"""The HTML pages of the identity side: consent and sign-in forms, error pages.

Plain server-rendered forms (no script), every control labelled, every value
escaped, so that a browser test can drive them by their labels and button names.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from .wire import Response, html_response


def _hidden(fields: dict[str, str | None]) -> str:
    return "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
        if v is not None
    )


def select(name: str, label: str, options: Iterable[tuple[str, str]]) -> str:
    """A labelled ``<select>``; options are (value, text)."""
    items = "\n".join(
        f'<option value="{html.escape(value)}">{html.escape(text)}</option>'
        for value, text in options
    )
    return (
        f'<p><label for="{html.escape(name)}">{html.escape(label)}</label>\n'
        f'<select id="{html.escape(name)}" name="{html.escape(name)}" required>\n'
        f"{items}\n</select></p>"
    )


def text_input(name: str, label: str) -> str:
    return (
        f'<p><label for="{html.escape(name)}">{html.escape(label)}</label>\n'
        f'<input type="text" id="{html.escape(name)}" name="{html.escape(name)}" required></p>'
    )


def form_page(
    *,
    title: str,
    action: str,
    intro: str,
    hidden: dict[str, str | None],
    controls: str = "",
    approve: str = "Approve",
    deny: str | None = "Deny",
) -> Response:
    """A POST form: explanatory ``intro`` (escaped here), ``controls`` (already HTML),
    an approve button (``decision=approve``) and optionally a deny button."""
    deny_button = (
        f'\n<button type="submit" name="decision" value="deny" formnovalidate>'
        f"{html.escape(deny)}</button>"
        if deny
        else ""
    )
    body = (
        f"<p>{html.escape(intro)}</p>\n"
        f'<form method="post" action="{html.escape(action)}">\n'
        f"{_hidden(hidden)}\n{controls}\n"
        f'<button type="submit" name="decision" value="approve">{html.escape(approve)}</button>'
        f"{deny_button}\n</form>"
    )
    return html_response(200, title, body)


def scope_list(scope: str) -> str:
    items = "".join(f"<li>{html.escape(s)}</li>" for s in scope.split() if s)
    return f"<p>Requested scopes:</p>\n<ul>{items}</ul>" if items else ""


def error_page(status: int, message: str) -> Response:
    """An error shown to the browser instead of a redirect (bad client or redirect URI)."""
    return html_response(status, "Sandbox: request refused", f"<p>{html.escape(message)}</p>")
