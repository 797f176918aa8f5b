"""Model fields that keep secrets encrypted at rest."""

import functools
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from portal import crypto


@functools.lru_cache(maxsize=4)
def _keyring(raw_setting: str) -> tuple[Fernet, MultiFernet]:
    keys = crypto.fernet_keys(raw_setting)
    # Earlier versions stretched every key, even one that already was a Fernet key:
    # rows they wrote still decrypt (and rotate_encryption_keys moves them to the key).
    stretched = [crypto.legacy_fernet_key(key) for key in crypto.split_keys(raw_setting)
                 if crypto.decode_fernet_key(key) is not None]
    return Fernet(keys[0]), crypto.multi_fernet(tuple(keys + stretched))


def keyring() -> MultiFernet:
    """Encrypts with the newest key of FIELD_ENCRYPTION_KEY, decrypts with any."""
    return _keyring(settings.FIELD_ENCRYPTION_KEY)[1]


def is_current(token: str) -> bool:
    """Whether a stored token is encrypted with the newest key already."""
    try:
        _keyring(settings.FIELD_ENCRYPTION_KEY)[0].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token: the raw column never holds the secret."""

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        try:
            return json.loads(keyring().decrypt(value.encode()))
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "Stored credentials cannot be decrypted with any key of "
                "FIELD_ENCRYPTION_KEY: was the key that encrypted them removed?"
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
        return keyring().encrypt(json.dumps(value, sort_keys=True).encode()).decode()
