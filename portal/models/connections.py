"""An organization's link to its telephony provider: how the portal authenticates there,
the tokens it holds (encrypted) and whether the link works.

One row per organization that talks to a provider API (a partner org's row is the one its
customers' pushes go through while their delegation is in force). Tokens live here rather
than in a per-process cache, so every web process and worker sees a renewal at once; the
row's `generation` tells a worker whether the token it was refused with is still current.
"""

from datetime import timedelta

from django.db import models
from django.utils import timezone

from portal.fields import EncryptedJSONField

from .tenancy import Organization, User

# A connection whose token cannot be renewed within this long is "expiring soon".
EXPIRING_SOON = timedelta(days=7)


class ConnectionMethod(models.TextChoices):
    OAUTH_CODE = "oauth_code", "OAuth 2 authorization code with PKCE (Webex integration)"
    CLIENT_CREDENTIALS = "client_credentials", "App token, client credentials (Microsoft Graph)"
    PASSWORD = "password", "Service account (UCWA token endpoint)"
    STATIC_TOKEN = "static_token", "Static token (development only)"


class ConnectionState(models.TextChoices):
    CONNECTED = "connected", "Connected"
    NEEDS_REAUTHORIZATION = "needs_reauthorization", "Needs re-authorization"
    DISCONNECTED = "disconnected", "Disconnected"


class ProviderConnection(models.Model):
    org = models.OneToOneField(Organization, on_delete=models.CASCADE,
                               related_name="connection")
    method = models.CharField(max_length=24, choices=ConnectionMethod.choices)
    state = models.CharField(max_length=24, choices=ConnectionState.choices,
                             default=ConnectionState.DISCONNECTED)
    # Webex integration client id, or the Microsoft app (and bot) id: the audience of
    # Graph's notification tokens.
    client_id = models.CharField(max_length=200, blank=True)
    # Microsoft tenant the app token is asked for (Graph), else blank.
    tenant = models.CharField(max_length=200, blank=True)
    # UCWA service account, and the deployment's token endpoint it signs in at.
    username = models.CharField(max_length=200, blank=True)
    token_url = models.URLField("token endpoint", max_length=300, blank=True)
    # access_token, refresh_token, client_secret, password: never shown back.
    secrets = EncryptedJSONField(blank=True, default=dict)
    scopes = models.CharField("granted scopes", max_length=1000, blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    # Bumped with every new access token; a 401 renews only the generation it was given.
    generation = models.PositiveIntegerField(default=0)
    connected_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    connected_at = models.DateTimeField(null=True, blank=True)
    last_refresh_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Set when the admins were told the connection needs them; cleared on reconnect, so
    # one outage sends one email.
    reauthorization_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "access_expires_at"],
                                name="connection_renewal_idx")]

    def __str__(self):
        return f"{self.org} via {self.get_method_display()}"

    @property
    def access_token(self) -> str:
        return self.secrets.get("access_token", "")

    @property
    def usable(self) -> bool:
        """Whether pushes may go out now with the stored access token."""
        if self.state != ConnectionState.CONNECTED or not self.access_token:
            return False
        return self.access_expires_at is None or self.access_expires_at > timezone.now()

    @property
    def expiring_soon(self) -> bool:
        """Connected, but the grant behind it (the refresh token, or a token that cannot
        be renewed without a person) ends within EXPIRING_SOON."""
        if self.state != ConnectionState.CONNECTED:
            return False
        end = self.refresh_expires_at
        if end is None and self.method == ConnectionMethod.STATIC_TOKEN:
            end = self.access_expires_at
        return end is not None and end - timezone.now() < EXPIRING_SOON

    @property
    def display_state(self) -> str:
        """The state as the Connection page names it."""
        if self.expiring_soon:
            return "expiring soon"
        return self.get_state_display().lower()


class ConnectionHour(models.Model):
    """Counters of one connection for one hour that no other table holds (the pushes
    per hour come from the audit log; refused Graph notifications leave no call record)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()
    refused_notifications = models.PositiveIntegerField(default=0)
    token_renewals = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "hour"],
                                               name="one_connection_hour")]

    def __str__(self):
        return f"{self.org_id} at {self.hour:%Y-%m-%d %H:00}"
