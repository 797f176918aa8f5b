"""Outgoing events (issue 18): signed JSON announcements of an org's changes, sent to the
HTTPS endpoints its admins register, following the Standard Webhooks specification.

- signing: secrets (whsec_...) and the webhook-id / webhook-timestamp / webhook-signature
  headers;
- netguard: which URLs and addresses an endpoint may use (public https only);
- outbox: what `portal.audit.record` calls to write an event in the change's transaction;
- delivery: one attempt of one delivery, retries with backoff, disabling a failing
  endpoint; the sweeper;
- services / selectors: the admins' writes and the pages' reads; tasks: thin Celery tasks.
"""
