from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ForwardingConfig(AppConfig):
    name = "forwarding"
    verbose_name = "Call forwarding"

    def ready(self):
        from forwarding.bulk import revocation
        from forwarding.calltime import directory_cache, webhook_orgs
        from forwarding.rules.signals import settings_changed, settings_changed_many
        from forwarding.sync import delivery, outbox
        from portal.models import Organization, Person, ProviderConnection
        from portal.signals import access_withdrawn, connection_restored

        # A changed or deleted org (API version, webhook key) is not served from the
        # webhook's cache by this process.
        post_save.connect(webhook_orgs.forget_webhook_org, sender=Organization,
                          dispatch_uid="forget_webhook_org_save")
        post_delete.connect(webhook_orgs.forget_webhook_org, sender=Organization,
                            dispatch_uid="forget_webhook_org_delete")
        for signal, uid in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(webhook_orgs.forget_connection_org, sender=ProviderConnection,
                           dispatch_uid=f"forget_webhook_connection_{uid}")
            # ... nor a person's lines from the bot's memory of who is behind a number.
            signal.connect(directory_cache.forget, sender=Person,
                           dispatch_uid=f"forget_directory_person_{uid}")
        # Revoked access stops the actor's jobs and partner pushes (same transaction).
        access_withdrawn.connect(revocation.on_access_withdrawn,
                                 dispatch_uid="forwarding_access_withdrawn")
        # A saved version of someone's settings is delivered by the push pipeline.
        settings_changed.connect(outbox.on_settings_changed,
                                 dispatch_uid="forwarding_outbox")
        settings_changed_many.connect(outbox.on_settings_changed_many,
                                      dispatch_uid="forwarding_outbox_many")
        # A connection that works again lets the pushes that waited for it go.
        connection_restored.connect(delivery.on_connection_restored,
                                    dispatch_uid="forwarding_connection_restored")
