"""Model fields that keep secrets encrypted at rest."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _fernet():
    # Any string is accepted as the key; it is stretched to Fernet's 32 bytes.
    digest = hashlib.sha256(settings.FIELD_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token: the raw column never holds the secret."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        try:
            return json.loads(_fernet().decrypt(value.encode()))
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "Stored credentials cannot be decrypted: FIELD_ENCRYPTION_KEY changed?"
            ) from exc

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if value in (None, ""):
            return {}
        return json.loads(value)

    def get_prep_value(self, value):
        if value is None:
            value = {}
        return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()
