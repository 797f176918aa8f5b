"""The keys that encrypt secrets at rest (FIELD_ENCRYPTION_KEY), without Django.

FIELD_ENCRYPTION_KEY holds one key or several separated by commas, newest first: the
first encrypts, any of them decrypts (cryptography's MultiFernet), so a key can be
rotated without a moment where stored credentials cannot be read
(`manage.py rotate_encryption_keys` then re-encrypts everything with the newest key).

A key is a Fernet key: 32 random bytes in urlsafe base64. Earlier versions accepted any
string and stretched it with SHA-256; outside production such a passphrase still works
the same way (the demo's default is SECRET_KEY), so existing development databases keep
decrypting. Production accepts Fernet keys only (settings/production.py); a passphrase
key's Fernet form is printed by `python -m portal.crypto convert-legacy`, and it
decrypts the same rows, so switching to it needs no re-encryption.

This module is imported by the settings, so it must not import Django's settings; for
the same reason its command line (`python -m portal.crypto generate`) works before the
production settings accept a key.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import sys

from cryptography.fernet import Fernet, MultiFernet

FERNET_KEY_BYTES = 32
# 32 random bytes hold about 30 distinct values on average; fewer than 16 happens by
# chance with a probability far below 1e-10, while "aaaa...", a repeated pattern or a
# counter fall well under it.
MIN_DISTINCT_BYTES = 16


def split_keys(raw: str) -> list[str]:
    """The keys of a FIELD_ENCRYPTION_KEY value, newest first, blanks ignored."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def decode_fernet_key(key: str) -> bytes | None:
    """The 32 bytes of a well-formed Fernet key, or None if `key` is not one."""
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(raw) != FERNET_KEY_BYTES or base64.urlsafe_b64encode(raw).decode() != key:
        return None
    return raw


def legacy_fernet_key(passphrase: str) -> str:
    """The Fernet key that earlier versions derived from a passphrase key."""
    return base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest()).decode()


def key_problem(key: str) -> str | None:
    """Why `key` is not a strong Fernet key (a sentence), or None when it is one."""
    raw = decode_fernet_key(key)
    if raw is None:
        return ("is not a Fernet key (32 bytes in urlsafe base64, 44 characters); "
                "generate one with `python -m portal.crypto generate`")
    if len(set(raw)) < MIN_DISTINCT_BYTES:
        return "has too little entropy (it is not 32 random bytes); generate a new one"
    return None


def strict_problems(raw_setting: str) -> list[str]:
    """Every problem of a production FIELD_ENCRYPTION_KEY value, naming keys by position
    (never by value: the message ends up in logs)."""
    keys = split_keys(raw_setting)
    if not keys:
        return ["is empty"]
    problems = []
    for position, key in enumerate(keys, start=1):
        problem = key_problem(key)
        if problem:
            label = "the key" if len(keys) == 1 else f"key {position} of {len(keys)}"
            problems.append(f"{label} {problem}")
    if len(set(keys)) != len(keys):
        problems.append("lists the same key twice")
    return problems


def fernet_keys(raw_setting: str) -> list[str]:
    """The Fernet keys of a FIELD_ENCRYPTION_KEY value, newest first: Fernet keys as
    they are, any other string stretched as earlier versions did."""
    return [key if decode_fernet_key(key) is not None else legacy_fernet_key(key)
            for key in split_keys(raw_setting)]


def multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def generate_key() -> str:
    return Fernet.generate_key().decode()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.crypto",
                                     description="Keys for FIELD_ENCRYPTION_KEY.")
    parser.add_argument("action", choices=["generate", "convert-legacy"],
                        help="generate: print a new key; convert-legacy: read a passphrase "
                             "key of an earlier version on stdin, print its Fernet form")
    action = parser.parse_args(argv).action
    if action == "generate":
        print(generate_key())
        return 0
    passphrase = sys.stdin.readline().rstrip("\r\n")
    if not passphrase:
        print("Give the old FIELD_ENCRYPTION_KEY on stdin", file=sys.stderr)
        return 2
    print(legacy_fernet_key(passphrase))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
