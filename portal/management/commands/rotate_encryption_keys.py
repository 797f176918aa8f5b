"""Re-encrypt every encrypted field with the newest key of FIELD_ENCRYPTION_KEY.

Rotation (README, "Rotating the encryption key"): a new key from
`python -m portal.crypto generate` goes first in FIELD_ENCRYPTION_KEY (`new,old`), every
process restarts, this command runs, then the old key is removed.
"""

from django.core.management.base import BaseCommand, CommandError

from portal.audit import Actor
from portal.keyrotation import BATCH_SIZE, rotate_encrypted_fields


class Command(BaseCommand):
    help = ("Re-encrypt every encrypted field with the newest key of FIELD_ENCRYPTION_KEY "
            "(idempotent).")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                            help=f"rows per transaction (default {BATCH_SIZE})")

    def handle(self, *args, **options):
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
