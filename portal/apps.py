from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal and tenancy"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from portal import access
        from portal.models import Delegation, Membership

        # A request that changes who administers what sees the change in its own checks.
        for model in (Membership, Delegation):
            for signal in (post_save, post_delete):
                signal.connect(access.forget_remembered, sender=model,
                               dispatch_uid=f"access-memo-{model.__name__}-{signal is post_save}")
