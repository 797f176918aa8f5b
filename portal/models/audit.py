"""The append-only audit log. Rows are written by services inside the transaction of the
change they describe. Neither the model nor (on PostgreSQL) the database lets a row be
updated or deleted."""

from django.db import models


class AuditLogIsAppendOnly(Exception):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be updated")

    def delete(self):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")

    _raw_delete = delete


class AuditEvent(models.Model):
    # Foreign keys carry no database constraint and do nothing on delete: deleting a user,
    # person or org must not rewrite (or cascade into) history. Labels keep the names.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    org = models.ForeignKey(
        "portal.Organization", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        "portal.User", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200)
    via_partner = models.ForeignKey(
        "portal.Organization", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    ip = models.GenericIPAddressField(null=True)
    person = models.ForeignKey(
        "portal.Person", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    person_label = models.CharField(max_length=200, blank=True)
    event = models.CharField(max_length=64, db_index=True)
    old = models.JSONField(null=True)
    new = models.JSONField(null=True)
    data = models.JSONField(default=dict)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["person", "-created_at"]),
            models.Index(fields=["org", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.event} by {self.actor_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditLogIsAppendOnly("audit events cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")
