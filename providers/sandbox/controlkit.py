"""What every control-API module shares: its error and its argument checks."""

from __future__ import annotations

from typing import Any

from .wire import BadJson, Request, is_int


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"{key} is required and must be a non-empty string")
    return value


def optional_int(body: dict[str, Any], key: str, minimum: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not is_int(value) or value < minimum:
        raise ControlError(400, f"{key} must be an integer >= {minimum}")
    return value


def optional_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise ControlError(400, f"{key} must be a boolean")
    return value


def str_list(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ControlError(400, f"{key} must be a list of non-empty strings")
    return list(value)


def json_body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except BadJson as exc:
        raise ControlError(400, str(exc)) from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ControlError(400, "request body must be a JSON object")
    return body
