"""Re-encrypting every encrypted field with the newest key of FIELD_ENCRYPTION_KEY.

After a new key is put first in FIELD_ENCRYPTION_KEY (the old ones still listed after
it), rows encrypted with an older key are still read fine; this moves them to the newest
key so the older ones can be removed. Batches of rows, each its own short transaction
with its rows locked (a credentials refresh writing meanwhile waits for the batch, then
writes with the newest key itself); idempotent, so it can be stopped and run again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from portal import audit
from portal.fields import EncryptedJSONField, is_current, keyring

BATCH_SIZE = 500


@dataclass
class FieldCounts:
    rotated: int = 0
    current: int = 0
    empty: int = 0
    unreadable: list = field(default_factory=list)  # primary keys no key decrypts


def encrypted_fields():
    """(model, field) for every EncryptedJSONField of every installed model."""
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, EncryptedJSONField):
                yield model, model_field


def rotate_encrypted_fields(*, actor, batch_size=BATCH_SIZE) -> dict[str, FieldCounts]:
    """Re-encrypt with the newest key every value encrypted with an older one."""
    results = {}
    for model, model_field in encrypted_fields():
        label = f"{model._meta.label}.{model_field.name}"
        counts = results[label] = FieldCounts()
        last_pk = None
        while True:
            last_pk = _rotate_batch(model, model_field, label, counts, last_pk=last_pk,
                                    batch_size=batch_size, actor=actor)
            if last_pk is None:
                break
    return results


def _rotate_batch(model, model_field, label, counts, *, last_pk, batch_size, actor):
    """One batch after `last_pk`; returns the batch's last primary key, None when done."""
    name = model_field.name
    with transaction.atomic():
        rows = model._base_manager.order_by("pk").select_for_update()
        if last_pk is not None:
            rows = rows.filter(pk__gt=last_pk)
        # Cast to plain text: the stored token as it is, not decrypted by the field.
        batch = list(rows.annotate(stored_token=Cast(name, models.TextField()))
                     .values_list("pk", "stored_token")[:batch_size])
        if not batch:
            return None
        rotated = []
        for pk, token in batch:
            if not token:
                counts.empty += 1
            elif is_current(token):
                counts.current += 1
            else:
                try:
                    value = json.loads(keyring().decrypt(token.encode()))
                except InvalidToken:
                    counts.unreadable.append(pk)
                    continue
                # The field encrypts on the way in, with the newest key.
                model._base_manager.filter(pk=pk).update(**{name: value})
                rotated.append(pk)
        if rotated:
            counts.rotated += len(rotated)
            audit.record(event=audit.Event.ENCRYPTION_ROTATED, actor=actor,
                         data={"field": label, "rows": len(rotated),
                               "first_pk": rotated[0], "last_pk": rotated[-1]})
        return batch[-1][0]
