"""Credentials of an organization's API clients: API keys (REST API) and event keys (/e/<key>).

Only a sha256 of each key is stored; the plaintext is shown once, when the key is created.
"""

from django.db import models
from django.utils import timezone

from supportdesk.desk.models import Organization


class Key(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    name = models.CharField(max_length=200, help_text="What the key is for, e.g. “Zendesk sync”.")
    prefix = models.CharField(
        max_length=32,
        unique=True,
        editable=False,
        help_text="The key's visible beginning: enough to recognise it, useless to use it.",
    )
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["organization", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ApiKey(Key):
    """Authenticates REST API requests: `Authorization: Bearer <key>`."""

    KIND = "api"
    TOKEN_PREFIX = "sdapi"

    class Meta(Key.Meta):
        verbose_name = "API key"


class EventKey(Key):
    """Authenticates Inngest-style event ingestion: `POST /e/<key>`."""

    KIND = "event"
    TOKEN_PREFIX = "sdevt"

    class Meta(Key.Meta):
        verbose_name = "event key"
