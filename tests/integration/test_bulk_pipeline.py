"""A bulk job end to end with a real worker: its chunks are saved one after the other
and each chunk's pushes start as soon as it commits, so the provider is already being
written while later chunks are still being saved (issue 17)."""

import pytest
from django.db.models import Max, Min

from forwarding.bulk import jobs
from forwarding.bulk.plan import plan_edit
from forwarding.models import BulkJob, BulkJobRow, ForwardingSettings, PushAttempt, SyncStatus
from portal import audit
from portal.models import Membership
from tests.cast import make_user

from .harness import wait_until
from .test_pipeline import webex_org, webex_person

pytestmark = pytest.mark.integration


def test_a_chunks_pushes_start_before_the_job_has_saved_its_last_chunk(sandbox, make_worker):
    org = webex_org(sandbox, rate=200)
    people = [webex_person(sandbox, org, n) for n in range(200)]
    admin = make_user(org=org, role=Membership.ADMIN, mfa=True)
    make_worker("w1", concurrency=3)
    plan = plan_edit(org, [p.id for p in people], feature="always", action="set",
                     destination="+13035550100")
    job = jobs.job_create(org=org, plan=plan, actor=audit.Actor.for_user(admin),
                          kind=BulkJob.EDIT, description="always forward")

    def converged():
        return ForwardingSettings.objects.filter(
            person__org=org, sync_status=SyncStatus.SYNCED, synced_version=2).count() == 200

    wait_until(converged, 60, message="every person converged")
    job.refresh_from_db()
    assert job.status == BulkJob.DONE
    rows = BulkJobRow.objects.filter(job=job)
    assert rows.filter(status=BulkJobRow.APPLIED).count() == 200
    # Chunks: the first rows were saved (and pushed) before the last ones were.
    saved = rows.aggregate(first=Min("finished_at"), last=Max("finished_at"))
    assert saved["first"] < saved["last"]
    first_push = PushAttempt.objects.filter(settings__person__org=org).aggregate(
        at=Min("started_at"))["at"]
    assert first_push < saved["last"], "pushing waited for the whole job to be saved"
    assert PushAttempt.objects.filter(settings__person__org=org).count() == 200
    assert not [r for r in sandbox.requests("/webex/") if r["status"] == 429]
