"""FIELD_ENCRYPTION_KEY: several keys newest first, and rotate_encryption_keys."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from portal import crypto
from portal.models import AuditEvent, Organization
from tests.cast import make_org

ROOT = Path(__file__).resolve().parents[2]
OLD = "L-EIEuUNaLqqer2rTC8bK5_yxf2xSetvV-v4s2bUz8c="
NEW = "7Rh7NH_xC45covH82Wo_yQVITLb5OtgHn33xfC4dx0w="
PASSPHRASE = "a-passphrase-key-as-earlier-versions-accepted-it"


def stored(org):
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM portal_organization WHERE id = %s", [org.pk])
        return cursor.fetchone()[0]


def rotate(**options):
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out, **options)
    return out.getvalue()


def test_a_key_is_checked_for_form_and_entropy():
    assert crypto.key_problem(crypto.generate_key()) is None
    assert "not a Fernet key" in crypto.key_problem(PASSPHRASE)
    assert "not a Fernet key" in crypto.key_problem(NEW[:-2])
    assert "entropy" in crypto.key_problem("A" * 43 + "=")
    assert crypto.strict_problems(f"{NEW}, {NEW}") == ["lists the same key twice"]
    assert crypto.strict_problems(" , ") == ["is empty"]


@pytest.mark.django_db
def test_the_newest_key_encrypts_and_every_listed_key_decrypts():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        org = make_org(credentials={"token": "secret-1"})
        written_with_old = stored(org)
    assert Fernet(OLD).decrypt(written_with_old.encode())
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW},{OLD}"):
        assert Organization.objects.get(pk=org.pk).credentials == {"token": "secret-1"}
        org.credentials = {"token": "secret-2"}
        org.save(update_fields=["credentials"])
        assert Fernet(NEW).decrypt(stored(org).encode())
        with pytest.raises(InvalidToken):
            Fernet(OLD).decrypt(stored(org).encode())
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        # A value no listed key decrypts is an error that says so, not garbage.
        with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
            Organization.objects.get(pk=org.pk)


@pytest.mark.django_db
def test_rows_written_by_earlier_versions_still_decrypt():
    """Earlier versions stretched the key with SHA-256, whatever it was."""
    legacy_of_new = crypto.legacy_fernet_key(NEW)
    with override_settings(FIELD_ENCRYPTION_KEY=legacy_of_new):
        org = make_org(credentials={"token": "from-before"})
    with override_settings(FIELD_ENCRYPTION_KEY=NEW):
        assert Organization.objects.get(pk=org.pk).credentials == {"token": "from-before"}
    with override_settings(FIELD_ENCRYPTION_KEY=PASSPHRASE):  # outside production
        passphrase_org = make_org(credentials={"token": "dev"})
    converted = crypto.legacy_fernet_key(PASSPHRASE)
    with override_settings(FIELD_ENCRYPTION_KEY=converted):
        assert Organization.objects.get(pk=passphrase_org.pk).credentials == {"token": "dev"}


@pytest.mark.django_db
def test_rotation_re_encrypts_every_row_with_the_newest_key_in_batches():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        orgs = [make_org(credentials={"token": f"t{i}"}) for i in range(5)]
    before = {org.pk: stored(org) for org in orgs}
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW},{OLD}"):
        current_org = make_org(credentials={"token": "new"})  # already on the newest key
        untouched = stored(current_org)
        output = rotate(batch_size=2)
        assert ("portal.Organization.credentials: 5 re-encrypted, "
                "1 already on the newest key, 0 empty, 0 unreadable") in output
    for org in orgs:
        after = stored(org)
        assert after != before[org.pk]
        plain = json.loads(Fernet(NEW).decrypt(after.encode()))
        assert plain == org.credentials
        with pytest.raises(InvalidToken):
            Fernet(OLD).decrypt(after.encode())
    assert stored(current_org) == untouched
    # The old key can go now.
    with override_settings(FIELD_ENCRYPTION_KEY=NEW):
        assert sorted(Organization.objects.filter(pk__in=[o.pk for o in orgs])
                      .values_list("credentials", flat=True),
                      key=lambda c: c["token"]) == [{"token": f"t{i}"} for i in range(5)]
        # Idempotent: a second run changes nothing.
        snapshot = {org.pk: stored(org) for org in orgs}
        assert "0 re-encrypted, 6 already on the newest key" in rotate()
        assert {org.pk: stored(org) for org in orgs} == snapshot
    batches = AuditEvent.objects.filter(event="encryption.rotated").order_by("id")
    assert [e.data["rows"] for e in batches] == [2, 2, 1]
    assert {e.actor_label for e in batches} == {"rotate_encryption_keys"}


@pytest.mark.django_db
def test_rotation_reports_rows_no_key_decrypts_and_goes_on():
    with override_settings(FIELD_ENCRYPTION_KEY=OLD):
        lost = make_org(credentials={"token": "lost"})
    with override_settings(FIELD_ENCRYPTION_KEY=PASSPHRASE):
        kept = make_org(credentials={"token": "kept"})
    lost_before = stored(lost)
    with override_settings(FIELD_ENCRYPTION_KEY=f"{NEW},{PASSPHRASE}"):
        with pytest.raises(CommandError, match=f"portal.Organization.credentials pk {lost.pk}"):
            rotate()
        assert Organization.objects.get(pk=kept.pk).credentials == {"token": "kept"}
    assert Fernet(NEW).decrypt(stored(kept).encode())
    assert stored(lost) == lost_before


def test_the_key_command_line_needs_no_settings():
    """It must work before production settings accept a key: no Django settings at all."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DJANGO_SETTINGS_MODULE", "FIELD_ENCRYPTION_KEY", "SECRET_KEY")}

    def run(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "portal.crypto", *args], cwd=ROOT,
                              env=env, input=stdin, capture_output=True, text=True,
                              timeout=60)

    generated = run("generate")
    assert generated.returncode == 0, generated.stderr
    assert crypto.key_problem(generated.stdout.strip()) is None
    converted = run("convert-legacy", stdin=PASSPHRASE + "\n")
    assert converted.stdout.strip() == crypto.legacy_fernet_key(PASSPHRASE)
    assert converted.stdout.strip() == "".join(
        crypto.fernet_keys(PASSPHRASE))  # the key earlier versions encrypted with
    empty = run("convert-legacy")
    assert empty.returncode == 2 and "stdin" in empty.stderr
