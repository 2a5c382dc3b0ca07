"""`POST /e/<event key>`: Inngest's Event API, so an Inngest SDK client sends us events unchanged.

The body is one event or a list; the answer is `{"ids": [...], "status": 200}`, or
`{"error": "...", "status": <code>}` with that HTTP status, as Inngest answers.
"""

import hashlib

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import TypeAdapter, ValidationError

from supportdesk.api import body, limits, services
from supportdesk.api.errors import RequestRefused
from supportdesk.api.models import EventKey
from supportdesk.api.schemas import EventIn
from supportdesk.desk.errors import DeskError

EVENT_LIST = TypeAdapter(list[EventIn])
# Inngest SDKs send a fresh seed with each send and the same seed when they retry it; events
# without an id get ids derived from it, so a retried send starts no second run.
EVENT_ID_SEED_HEADER = "X-Inngest-Event-Id-Seed"


@csrf_exempt
def events_ingest(request: HttpRequest, event_key: str) -> JsonResponse:
    try:
        if request.method != "POST":
            raise RequestRefused(405, "send events with POST")
        raw_body = body.request_body(request)
        key = services.key_authenticate(kind=EventKey.KIND, plaintext=event_key)
        if key is None:
            raise RequestRefused(401, "unknown or revoked event key")
        limits.charge_request(key)
        events = events_validate(body.parse_json(raw_body))
        seed = request.headers.get(EVENT_ID_SEED_HEADER, "")
        if seed:
            events = with_seeded_ids(events, seed=seed, scope=key.organization_id)
        ids = services.organization_events_send(key=key, events=events)
    except RequestRefused as exc:
        response = JsonResponse({"error": exc.message, "status": exc.status}, status=exc.status)
        for header, value in exc.headers.items():
            response[header] = value
        return response
    except DeskError as exc:  # the desk refused one of its events: nothing was stored
        status = {"invalid_field": 422, "not_found": 404, "conflict": 409}.get(exc.code, 400)
        message = f"{exc.message} (nothing was stored)"
        return JsonResponse({"error": message, "status": status}, status=status)
    return JsonResponse({"ids": ids, "status": 200})


def events_validate(raw) -> list[EventIn]:
    """One event or a list, validated; RequestRefused 400 names each bad event and field."""
    items = raw if isinstance(raw, list) else [raw]
    try:
        return EVENT_LIST.validate_python(items)
    except ValidationError as exc:
        problems = "; ".join(
            f"event {error['loc'][0]}: "
            f"{'.'.join(str(part) for part in error['loc'][1:]) or 'event'}: {error['msg']}"
            for error in exc.errors(include_url=False)[:10]
        )
        raise RequestRefused(400, f"{problems} (nothing was stored)") from None


def with_seeded_ids(events: list[EventIn], *, seed: str, scope: int) -> list[EventIn]:
    def seeded_id(index: int) -> str:
        digest = hashlib.sha256(f"{scope}:{seed}:{index}".encode()).hexdigest()
        return f"seed-{digest[:32]}"

    return [
        event if event.id else event.model_copy(update={"id": seeded_id(index)})
        for index, event in enumerate(events)
    ]
