"""Re-encrypt every encrypted field with the newest key of FIELD_ENCRYPTION_KEY.

Rotation: put a new key first in FIELD_ENCRYPTION_KEY (`new,old`), restart every
process, run this command, then remove the old key and restart again.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from portal import crypto
from portal.audit import Actor
from portal.keyrotation import BATCH_SIZE, rotate_encrypted_fields


class Command(BaseCommand):
    help = ("Re-encrypt every encrypted field with the newest key of FIELD_ENCRYPTION_KEY "
            "(idempotent). --generate prints a new key instead.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                            help=f"rows per transaction (default {BATCH_SIZE})")
        parser.add_argument("--generate", action="store_true",
                            help="print a new random key and exit (changes nothing)")
        parser.add_argument("--convert-legacy", action="store_true",
                            help="read a passphrase key of an earlier version on stdin and "
                                 "print its Fernet form, which decrypts the same rows")

    def handle(self, *args, **options):
        if options["generate"]:
            self.stdout.write(crypto.generate_key())
            return
        if options["convert_legacy"]:
            passphrase = sys.stdin.readline().rstrip("\r\n")
            if not passphrase:
                raise CommandError("Give the old FIELD_ENCRYPTION_KEY on stdin")
            self.stdout.write(crypto.legacy_fernet_key(passphrase))
            return
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")

        results = rotate_encrypted_fields(actor=Actor.system("rotate_encryption_keys"),
                                          batch_size=options["batch_size"])
        unreadable = {}
        for label, counts in results.items():
            self.stdout.write(f"{label}: {counts.rotated} re-encrypted, {counts.current} "
                              f"already on the newest key, {counts.empty} empty, "
                              f"{len(counts.unreadable)} unreadable")
            if counts.unreadable:
                unreadable[label] = counts.unreadable
        if unreadable:
            detail = "; ".join(f"{label} pk {', '.join(map(str, pks[:20]))}"
                               for label, pks in unreadable.items())
            raise CommandError(f"No key of FIELD_ENCRYPTION_KEY decrypts these rows (left as "
                               f"they are): {detail}")
