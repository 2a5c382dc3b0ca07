"""Where the server may post notifications: a Slack webhook URL must match an allowed prefix
(SLACK_WEBHOOK_ALLOWED_PREFIXES, by default https://hooks.slack.com/ only), so an admin can't make
the server post to an internal address (a metadata service, a database, localhost).

URLs are compared by their parts, not as strings: https://hooks.slack.com.evil.example/ and
https://hooks.slack.com@evil.example/ don't start with Slack's host. A prefix names a scheme, a
host, optionally a port (without one, any port of that host) and a path the URL's path starts with.
"""

from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings


class UrlParts(NamedTuple):
    scheme: str
    host: str
    port: int | None
    path: str


def url_parts(url: str) -> UrlParts | None:
    """An http(s) URL's parts, or None for anything else (other schemes, credentials, no host)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return UrlParts(parts.scheme, parts.hostname.lower(), port, parts.path or "/")


def matches(url: UrlParts, prefix: UrlParts) -> bool:
    default_port = 443 if url.scheme == "https" else 80
    return (
        url.scheme == prefix.scheme
        and url.host == prefix.host
        and (prefix.port is None or (url.port or default_port) == prefix.port)
        and url.path.startswith(prefix.path)
    )


def slack_webhook_problem(url: str) -> str:
    """Why the server won't post to this URL, or "" if it may."""
    allowed = settings.SLACK_WEBHOOK_ALLOWED_PREFIXES
    parts = url_parts(url)
    if parts is not None and any(
        prefix is not None and matches(parts, prefix) for prefix in map(url_parts, allowed)
    ):
        return ""
    return (
        "Only Slack incoming webhooks are accepted: the URL must start with "
        + " or ".join(allowed)
        + " (SLACK_WEBHOOK_ALLOWED_PREFIXES)."
    )
