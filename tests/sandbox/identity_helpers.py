"""Helpers for the identity tests: PKCE pairs, driving the HTML forms, JWKS checks."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import jwt
import requests


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class FormParser(HTMLParser):
    """Fields of the page's form: hidden inputs, selects (their options) and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.action = None
        self.hidden: dict[str, str] = {}
        self.selects: dict[str, list[str]] = {}
        self.labels: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._select = None
        self._label_for = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
            self.selects[self._select] = []
        elif tag == "option" and self._select:
            self.selects[self._select].append(a["value"])
        elif tag == "button":
            self.buttons.append((a.get("name"), a.get("value")))
        elif tag == "label":
            self._label_for = a.get("for")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "label":
            self._label_for = None

    def handle_data(self, data):
        if self._label_for:
            self.labels[self._label_for] = data.strip()


def parse_form(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    return match.group(1) if match else ""


def submit(base: str, page: requests.Response, decision: str = "approve", **fields) -> dict:
    """Post the page's form like a browser; return the redirect's query (first values)."""
    form = parse_form(page.text)
    data = {**form.hidden, **fields, "decision": decision}
    resp = requests.post(base + form.action, data=data, allow_redirects=False, timeout=5)
    assert resp.status_code == 302, (resp.status_code, resp.text)
    query = parse_qs(urlsplit(resp.headers["Location"]).query)
    return {k: v[0] for k, v in query.items()}


def verify(base: str, token: str, jwks_path: str, **kwargs) -> dict:
    """Verify a sandbox JWT with PyJWT against the sandbox's published JWKS."""
    jwks = jwt.PyJWKClient(base + jwks_path, cache_keys=False)
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], **kwargs)
