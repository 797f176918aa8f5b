"""The one normalization of email addresses used to match an invitation to an account.

An address is normalized by stripping surrounding white space and lowering the ASCII
letters A-Z, and nothing else. Every other character is compared exactly as typed.

Why ASCII only: Unicode case mappings differ between Python (str.lower folds the Kelvin
sign U+212A to "k", "İ" to "i̇") and the database (PostgreSQL's lower()/upper()/ILIKE follow
the collation's locale; upper("ß") may stay "ß" or become "SS"), so a full case-folding
would let two different addresses match on one side and not on the other. Lowering A-Z is
the same function everywhere, and it is all that real mail systems need in practice.

Matching is then an exact comparison of normalized strings, in Python, or in SQL with `=`
against `AsciiLower(column)`, which computes exactly what `normalize_email` does. Never
`iexact`, `UPPER()` or `ILIKE`.
"""

from django.db import models

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)


def normalize_email(address: str) -> str:
    return (address or "").strip().translate(_ASCII_LOWER)


def same_address(a: str, b: str) -> bool:
    return normalize_email(a) == normalize_email(b)


class AsciiLower(models.Func):
    """SQL twin of normalize_email for a stored column (surrounding white space is never
    stored: form fields strip it). PostgreSQL's translate() maps A-Z one by one whatever
    the locale; SQLite's built-in lower() folds only ASCII letters."""

    function = "translate"
    output_field = models.CharField()

    def __init__(self, expression, **extra):
        super().__init__(expression, models.Value(_UPPER), models.Value(_LOWER), **extra)

    def as_sqlite(self, compiler, connection, **extra_context):
        inner, params = compiler.compile(self.source_expressions[0])
        return f"lower({inner})", params
