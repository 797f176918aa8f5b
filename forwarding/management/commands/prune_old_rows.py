"""Delete push attempts, call records and bulk jobs past their retention settings now,
as the hourly beat task does, but until nothing is left (no time budget)."""

from django.core.management.base import BaseCommand, CommandError

from forwarding.upkeep import retention


class Command(BaseCommand):
    help = ("Delete rows past RETENTION_*_DAYS (push attempts, call records, bulk jobs) "
            "in batches. The audit log is never pruned.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=retention.BATCH_SIZE,
                            help=f"rows per DELETE (default {retention.BATCH_SIZE})")
        parser.add_argument("--dry-run", action="store_true",
                            help="count what would be deleted, delete nothing")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["dry_run"]:
            for label, count in retention.due().items():
                self.stdout.write(f"{label}: {count} rows past retention")
            return
        for label, count in retention.prune(batch_size=options["batch_size"]).items():
            self.stdout.write(f"{label}: {count} rows deleted")
