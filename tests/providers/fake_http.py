"""A stand-in for the requests session behind providers.http.send: it records every
request an adapter makes and answers with `requests.Response` objects built here, so
adapter tests run without network or sandbox."""

from __future__ import annotations

import json

import requests

from providers import http


def response(status, body=None, *, headers=None, text=None):
    """A real requests.Response: JSON `body`, or raw `text`, or nothing."""
    resp = requests.Response()
    resp.status_code = status
    resp.encoding = "utf-8"
    if body is not None:
        resp._content = json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json"
    else:
        resp._content = (text or "").encode()
    resp.headers.update(headers or {})
    return resp


class FakeSession:
    def __init__(self):
        self.answers = []
        self.calls = []

    def answer(self, *items):
        """Queue what the next requests get: a Response, or an exception to raise."""
        self.answers.extend(items)

    def request(self, method, url, **kwargs):
        prepared = requests.Request(method, url, params=kwargs.get("params"),
                                    headers=kwargs.get("headers"),
                                    json=kwargs.get("json")).prepare()
        self.calls.append({
            "method": method,
            "url": prepared.url,
            "headers": dict(kwargs.get("headers") or {}),
            "json": kwargs.get("json"),
            "body": prepared.body,
            "timeout": kwargs.get("timeout"),
        })
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def install(monkeypatch) -> FakeSession:
    session = FakeSession()
    monkeypatch.setattr(http, "get_session", lambda timeout=None: session)
    return session
