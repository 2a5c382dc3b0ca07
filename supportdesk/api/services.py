"""Writes of the API app: issuing, revoking and checking API keys and event keys.

A key is `<kind>_<8 hex>_<43 url-safe chars>` (`sdapi_…` or `sdevt_…`): its first two parts are the
visible prefix that finds the row, and the whole key's sha256 is compared in constant time.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from supportdesk.api import limits
from supportdesk.api.body import KIB, MAX_EVENT_BYTES, json_size
from supportdesk.api.errors import RequestRefused
from supportdesk.api.models import ApiKey, EventKey, Key
from supportdesk.api.schemas import EventIn
from supportdesk.desk.errors import DeskError
from supportdesk.desk.events import events_receive
from supportdesk.desk.models import Organization
from supportdesk.durable.events import InvalidEvent

KEY_MODELS: dict[str, type[Key]] = {ApiKey.KIND: ApiKey, EventKey.KIND: EventKey}
# A key's `last_used_at` is refreshed at most this often: not one write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Longer input can't be a key; don't hash megabytes from a URL or a header to find that out.
MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class IssuedKey:
    key: Key
    plaintext: str


def key_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def key_issue(key: Key) -> str:
    """Give an unsaved key its secret and save it. Returns the plaintext, the only time it is
    ever known: only its hash is stored."""
    key.name = (key.name or "").strip()
    if not key.name:
        raise DeskError("a key needs a name")
    for _ in range(5):
        prefix = f"{key.TOKEN_PREFIX}_{secrets.token_hex(4)}"
        plaintext = f"{prefix}_{secrets.token_urlsafe(32)}"
        key.prefix, key.secret_hash = prefix, key_digest(plaintext)
        try:
            with transaction.atomic():
                key.save()
        except IntegrityError:
            continue  # Two keys drew the same 32-bit prefix: draw again.
        return plaintext
    raise DeskError("could not draw a unique key prefix; try again")


def key_create(*, organization: Organization, name: str, kind: str = ApiKey.KIND) -> IssuedKey:
    if kind not in KEY_MODELS:
        raise DeskError(f"kind must be one of {', '.join(KEY_MODELS)}, not {kind!r}")
    key = KEY_MODELS[kind](organization=organization, name=name)
    plaintext = key_issue(key)
    return IssuedKey(key=key, plaintext=plaintext)


def key_revoke(*, key: Key) -> bool:
    """Revoke a key at once. False if it was revoked already."""
    now = timezone.now()
    revoked = type(key).objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    key.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)


def key_authenticate(*, kind: str, plaintext: str) -> Key | None:
    """The active key of this kind that `plaintext` is, with its organization; else None."""
    model = KEY_MODELS[kind]
    parts = plaintext.split("_", 2) if len(plaintext) <= MAX_KEY_LENGTH else []
    if len(parts) != 3 or parts[0] != model.TOKEN_PREFIX:
        return None
    key = (
        model.objects.select_related("organization")
        .filter(prefix=f"{parts[0]}_{parts[1]}", revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, key_digest(plaintext)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        model.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def organization_events_send(*, key: Key, events: list[EventIn]) -> list[str]:
    """Send validated events as the key's organization's (they start and resume only its runs);
    the desk checks its own events at the door (desk.events).

    All or nothing: one event over MAX_EVENT_BYTES refuses the whole batch (RequestRefused 413).
    """
    limits.charge_events(key.organization_id, len(events))
    raw = [event.model_dump(exclude_none=True) for event in events]
    for index, event in enumerate(raw):
        size = json_size(event)
        if size > MAX_EVENT_BYTES:
            raise RequestRefused(
                413,
                f"event {index} is {size:,} bytes; the limit is {MAX_EVENT_BYTES // KIB} KiB "
                "per event (nothing was stored)",
            )
    try:
        return events_receive(organization=key.organization, events=raw, key_name=str(key))
    except InvalidEvent as exc:  # the engine's own rules, should they ever be stricter
        raise RequestRefused(400, f"{exc} (nothing was stored)") from None
