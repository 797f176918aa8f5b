"""One JSON shape for every API error, and the exceptions the views raise.

    {"detail": "a sentence a person can act on",
     "errors": {"busy_destination": ["..."], "caller_rules-0-destination": ["..."]},
     "current_version": 7}

`errors` is present for bad input (400) and keyed like the forms' errors (the service's
ValidationError keys); `current_version` for stale versions (409, or 412 with If-Match).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

INVALID = "Some values are not valid; see errors."
MFA_REQUIRED = (
    "Turn on two-factor authentication (an authenticator app) before changing settings "
    "for other people."
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Somebody else changed this first."

    def __init__(self, detail, *, current_version, status_code=None):
        super().__init__(detail)
        self.current_version = current_version
        if status_code is not None:
            self.status_code = status_code


class MfaRequired(exceptions.PermissionDenied):
    default_detail = MFA_REQUIRED


def flatten(errors, prefix="") -> dict[str, list[str]]:
    """DRF's nested error structure as flat keys: {"caller_rules": [{}, {"destination":
    [..]}]} -> {"caller_rules-1-destination": [..]} (the keys the service and forms use)."""
    out: dict[str, list[str]] = {}

    def add(key, message):
        out.setdefault(key or "non_field_errors", []).append(str(message))

    def walk(value, key):
        if isinstance(value, dict):
            for name, inner in value.items():
                if name in ("non_field_errors",) and key:
                    walk(inner, key)
                else:
                    walk(inner, f"{key}-{name}" if key else str(name))
        elif isinstance(value, list | tuple):
            if value and all(isinstance(v, dict | list | tuple) for v in value):
                for i, inner in enumerate(value):
                    walk(inner, f"{key}-{i}" if key else str(i))
            else:
                for inner in value:
                    if isinstance(inner, dict | list | tuple):
                        walk(inner, key)
                    else:
                        add(key, inner)
        elif value not in (None, ""):
            add(key, value)

    walk(errors, prefix)
    return out


def django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {key: list(messages) for key, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def invalid(errors: dict, detail: str = INVALID,
            confirm: str | None = None) -> exceptions.ValidationError:
    """A 400. `confirm`: the flag that saves anyway when the errors are only warnings."""
    error = exceptions.ValidationError(errors)
    error.portal_detail = detail
    error.portal_confirm = confirm
    return error


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = invalid(django_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": getattr(exc, "portal_detail", INVALID),
                         "errors": flatten(exc.detail)}
        if getattr(exc, "portal_confirm", None):
            response.data["confirm"] = exc.portal_confirm
        return response
    data = response.data if isinstance(response.data, dict) else {"detail": response.data}
    body = {"detail": str(data.get("detail", ""))}
    if isinstance(exc, Conflict):
        body["current_version"] = exc.current_version
    response.data = body
    return response


# --- schema -----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Messages per field; caller rules as caller_rules-<i>-<field>.",
    )
    current_version = serializers.IntegerField(
        required=False, help_text="The stored version, on 409 and 412.")
    confirm = serializers.CharField(
        required=False, help_text="On a 400 that only warns (a forwarding loop through busy, "
        "no answer or offline forwarding): the flag to send as true to save anyway, "
        "`confirm_loops`.")


_WORDS = {
    400: "Bad input: `errors` holds the messages per field.",
    401: "Not signed in: send a session cookie or `Authorization: Token <key>`.",
    403: "Not allowed (for example: two-factor authentication is off, or a partner may "
         "not do this).",
    404: "No such object, or not one you may see (lists: no such page).",
    409: "Stale version: somebody else saved first; `current_version` is the stored one.",
    412: "Stale version sent in If-Match; `current_version` is the stored one.",
}


def error_responses(*codes) -> dict:
    """OpenAPI responses for the error codes an endpoint may answer (401 always)."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=_WORDS[code])
        for code in sorted({401, *codes})
    }
