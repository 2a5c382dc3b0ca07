"""Rate limits of the API and of the event endpoint: per key, per organization, and a cap on the
events of one request. A refusal is a 429 with `Retry-After`: when the current minute's budget
renews. Counters live in the cache (in-process in the embedded mode, Redis in scale-out, so that
every web process shares them); fixed one-minute windows.
"""

import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from supportdesk.api.errors import RequestRefused

WINDOW_SECONDS = 60


def clock() -> float:
    return time.time()


def _charge(*charges: tuple[str, int, int, str]) -> None:
    """Charge each `(bucket, amount, allowed, what)` to its budget of the current minute; the
    first budget exceeded refuses the request (429). One round trip to the cache for all of them.
    """
    now = clock()
    window = int(now // WINDOW_SECONDS)
    keys = [f"ratelimit:{settings.RATE_LIMITS['NAMESPACE']}:{bucket}:{window}"
            for bucket, *_ in charges]  # fmt: skip
    counts = _increment(keys, [amount for _, amount, _, _ in charges])
    for (_, _, allowed, what), used in zip(charges, counts, strict=True):
        if used > allowed:
            retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now) + 1)
            raise RequestRefused(
                429,
                f"too many {what}: the limit is {allowed:,} a minute; try again in "
                f"{retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )


def _increment(keys: list[str], amounts: list[int]) -> list[int]:
    """Add each amount to its counter (created for the window and a little more) and return the
    new counts. On Redis one pipeline, INCRBY and EXPIRE NX per counter, where the cache API
    would take an ADD and an INCR round trip each."""
    backend = caches["default"]
    timeout = WINDOW_SECONDS + 5
    if isinstance(backend, RedisCache):
        names = [backend.make_and_validate_key(key) for key in keys]
        pipeline = backend._cache.get_client(write=True).pipeline(transaction=False)
        for name, amount in zip(names, amounts, strict=True):
            pipeline.incrby(name, amount)
            pipeline.expire(name, timeout, nx=True)
        return [int(count) for count in pipeline.execute()[::2]]
    counts = []
    for key, amount in zip(keys, amounts, strict=True):
        backend.add(key, 0, timeout=timeout)
        try:
            counts.append(backend.incr(key, amount))
        except ValueError:  # expired between add and incr: start the window again
            backend.set(key, amount, timeout=timeout)
            counts.append(amount)
    return counts


def charge_request(key) -> None:
    """One request with `key` (an ApiKey or EventKey), against the key's and the org's budgets."""
    limits = settings.RATE_LIMITS
    _charge(
        (f"key:{key.prefix}", 1, limits["KEY_REQUESTS_PER_MINUTE"], "requests with this key"),
        (f"org:{key.organization_id}:requests", 1, limits["ORG_REQUESTS_PER_MINUTE"],
         "requests for this organization"),
    )  # fmt: skip


def charge_events(organization_id: int, count: int) -> None:
    """`count` events (a ticket created is one) against the organization's budget; a request
    carrying more than MAX_EVENTS_PER_REQUEST is refused whole (413)."""
    limits = settings.RATE_LIMITS
    if count > limits["MAX_EVENTS_PER_REQUEST"]:
        raise RequestRefused(
            413, f"{count:,} events in one request; the limit is "
            f"{limits['MAX_EVENTS_PER_REQUEST']:,}: send them in several (nothing was stored)",
        )  # fmt: skip
    if count:
        _charge((f"org:{organization_id}:events", count, limits["ORG_EVENTS_PER_MINUTE"],
                 "events for this organization"))  # fmt: skip


def charge_inbound(bucket: str) -> None:
    """One request at an endpoint that machines call besides the API (Slack's interactions, the
    inbound email route), against that bucket's share of an organization's request budget."""
    _charge((f"inbound:{bucket}", 1, settings.RATE_LIMITS["ORG_REQUESTS_PER_MINUTE"], "requests"))
