"""Bulk jobs and their rows, CSV dry runs (drafts) and theirs."""

from django.db import models

from portal.models import Person


class BulkJob(models.Model):
    """A CSV import, a bulk edit from the people list, or the undo of one of them.

    Rows are applied by Celery tasks on the bulk queue, each through forwarding_update (so
    with the same validation, version bump and audit row as a page); the job's counters
    are read from its rows (forwarding.bulk.selectors.job_progress), never stored twice.
    """

    IMPORT = "import"
    EDIT = "edit"
    UNDO = "undo"
    KINDS = [(IMPORT, "CSV import"), (EDIT, "Bulk edit"), (UNDO, "Undo")]

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    # Its creator lost access to the org (delegation revoked, removed from the org): the
    # rows not applied yet never will be; the applied ones stay and can be undone.
    STOPPED = "stopped"
    STATUSES = [(QUEUED, "Queued"), (RUNNING, "Running"), (DONE, "Done"),
                (STOPPED, "Stopped")]
    ACTIVE = (QUEUED, RUNNING)

    org = models.ForeignKey("portal.Organization", on_delete=models.CASCADE,
                            related_name="bulk_jobs")
    kind = models.CharField(max_length=8, choices=KINDS)
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    description = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey("portal.User", null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_by_label = models.CharField(max_length=200)
    # The partner org on whose behalf the job was started (None: the org's own admin).
    via_partner = models.ForeignKey("portal.Organization", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Every audit row the job writes carries this id (AuditEvent.correlation_id).
    correlation_id = models.CharField(max_length=64, db_index=True)
    undo_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="undone_by")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why a stopped job stopped, in words for its page ("The delegation ... was revoked").
    stopped_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} of {self.org}"


class BulkJobRow(models.Model):
    """One person's change in a bulk job, and what became of it."""

    PENDING = "pending"
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    INVALID = "invalid"
    STATUSES = [(PENDING, "Pending"), (APPLIED, "Applied"), (UNCHANGED, "Already so"),
                (FAILED, "Failed"), (INVALID, "Invalid")]

    job = models.ForeignKey(BulkJob, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()  # CSV line number, or position in a bulk edit
    key = models.CharField(max_length=254, blank=True)  # how the row named its person
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    person_label = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    # The changes dict handed to forwarding_update (JSON values; datetimes as ISO text).
    changes = models.JSONField(default=dict)
    # The version the row was prepared against (the CSV's version column), if any.
    expected_version = models.PositiveIntegerField(null=True, blank=True)
    errors = models.JSONField(default=dict, blank=True)  # field -> [messages]
    # The full snapshot before the change (what undo brings back), the values the row
    # wrote (field -> value, JSON) and the version it wrote.
    previous = models.JSONField(null=True, blank=True)
    written = models.JSONField(null=True, blank=True)
    new_version = models.PositiveIntegerField(null=True, blank=True)
    # An undo row applies only while these fields still hold these values (what the
    # undone job wrote); otherwise somebody changed them since, and they are left alone.
    guard = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self):
        return f"row {self.line} of job {self.job_id} ({self.status})"


class BulkDraft(models.Model):
    """A CSV import's dry run, kept in the database between the dry run and "Apply".

    It holds the uploaded file (within BULK_MAX_UPLOAD_BYTES) and, once planned, one
    BulkDraftRow per CSV row, so the results can be shown page by page and applied
    without parsing the file again. Only its creator sees or applies it; it expires
    after BULK_DRAFT_SECONDS and a user keeps at most BULK_DRAFTS_PER_USER of them
    (forwarding.bulk.drafts). A dry run still changes nobody's settings."""

    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    STATUSES = [(QUEUED, "Waiting for a worker"), (RUNNING, "Checking"), (READY, "Ready"),
                (FAILED, "Failed")]

    org = models.ForeignKey("portal.Organization", on_delete=models.CASCADE,
                            related_name="bulk_drafts")
    created_by = models.ForeignKey("portal.User", on_delete=models.CASCADE,
                                   related_name="bulk_drafts")
    # The partner org on whose behalf the dry run was made (None: the org's own admin).
    via_partner = models.ForeignKey("portal.Organization", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=200, blank=True)
    data = models.BinaryField()
    status = models.CharField(max_length=8, choices=STATUSES, default=QUEUED)
    rows_total = models.PositiveIntegerField(default=0)  # data rows, counted on upload
    rows_done = models.PositiveIntegerField(default=0)  # checked so far
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    changing = models.PositiveIntegerField(default=0)
    warned = models.PositiveIntegerField(default=0)  # rows with warnings: apply needs confirm
    file_errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self):
        return f"dry run #{self.pk} of {self.filename}"

    @property
    def unchanged(self):
        return self.valid - self.changing


class BulkDraftRow(models.Model):
    """One CSV row of a dry run: invalid with its reasons, a change, or already so."""

    INVALID = "invalid"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    KINDS = [(INVALID, "Invalid"), (CHANGE, "Changes"), (UNCHANGED, "Already so")]

    draft = models.ForeignKey(BulkDraft, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    kind = models.CharField(max_length=9, choices=KINDS)
    key = models.CharField(max_length=254, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    person_label = models.CharField(max_length=200, blank=True)
    errors = models.JSONField(default=dict, blank=True)
    # The normalised values that would change (JSON), and [{"field", "old", "new"}].
    changes = models.JSONField(default=dict, blank=True)
    diff = models.JSONField(default=list, blank=True)
    # The person's settings version when the dry run read them: applying the draft
    # expects it, so a change made since the dry run is refused row by row, not overwritten.
    current_version = models.PositiveIntegerField(null=True, blank=True)
    warnings = models.JSONField(default=dict, blank=True)  # conditional loops (rules.loops)

    class Meta:
        ordering = ["line", "id"]
        indexes = [models.Index(fields=["draft", "kind", "line"])]

    def __str__(self):
        return f"row {self.line} of dry run {self.draft_id} ({self.kind})"

    @property
    def valid(self):
        return self.kind != self.INVALID
