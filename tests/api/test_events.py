"""Events through the API (`POST /api/events`) and the Inngest-compatible `POST /e/<key>`: one
event or a batch, ids deduplicate, events act as the key's organization only."""

import pytest
from django.test import Client

from supportdesk.api import services
from supportdesk.desk.services import organization_tenant
from supportdesk.durable.models import Event, Run, RunStatus
from tests.api.conftest import post_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def event_key(organization) -> str:
    return services.key_create(organization=organization, name="zendesk", kind="event").plaintext


def test_one_event_or_a_batch(api, organization):
    one = post_json(api, "/api/events", {"name": "test/steps", "data": {"count": 1}, "id": "e-1"})
    assert one.status_code == 200 and one.json() == {"ids": ["e-1"]}
    batch = post_json(api, "/api/events", [
        {"name": "test/steps", "data": {"count": 1}, "ts": 1_700_000_000_000},
        {"name": "test/nothing-listens"},
    ])  # fmt: skip
    ids = batch.json()["ids"]
    assert batch.status_code == 200 and len(ids) == 2 and all(ids)
    stored = Event.objects.get(event_id=ids[0])
    assert stored.ts == 1_700_000_000_000 and stored.data == {"count": 1}
    assert Event.objects.get(event_id=ids[1]).data == {}
    tenant = organization_tenant(organization.pk)
    assert set(Event.objects.values_list("tenant", flat=True)) == {tenant}
    assert Run.objects.filter(tenant=tenant).count() == 2
    assert post_json(api, "/api/events", []).json() == {"ids": []}


def test_an_event_id_seen_before_starts_no_second_run(api, drain):
    event = {"name": "test/steps", "data": {"count": 1}, "id": "once"}
    assert post_json(api, "/api/events", event).json() == {"ids": ["once"]}
    assert post_json(api, "/api/events", [event, event]).json() == {"ids": ["once", "once"]}
    assert Run.objects.count() == 1
    drain()
    assert Run.objects.get().status == RunStatus.COMPLETED


def test_events_resolve_only_their_own_organizations_waits(api, other_api, drain):
    post_json(api, "/api/events", {"name": "test/wait", "data": {"ticketId": 7}})
    drain()
    waiting = Run.objects.get()
    answer = {"name": "test/answer", "data": {"ticketId": 7, "answer": "from globex"}}
    post_json(other_api, "/api/events", answer)
    drain()
    assert Run.objects.get(pk=waiting.pk).status == RunStatus.WAITING
    post_json(api, "/api/events", {**answer, "data": {"ticketId": 7, "answer": "from acme"}})
    drain()
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.COMPLETED and waiting.output["answer"] == "from acme"


def test_ingest_answers_in_inngests_format(event_key, organization):
    response = post_json(Client(), f"/e/{event_key}", [
        {"name": "test/steps", "data": {"count": 1}, "id": "inngest-1", "ts": 1_700_000_000_000},
        {"name": "test/nothing-listens", "data": None},
    ])  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 200 and body["ids"][0] == "inngest-1" and len(body["ids"]) == 2
    run = Run.objects.get()
    assert run.tenant == organization_tenant(organization.pk)
    assert run.event.event_id == "inngest-1"
    single = post_json(Client(), f"/e/{event_key}", {"name": "test/nothing-listens"})
    assert single.json()["status"] == 200 and len(single.json()["ids"]) == 1


def test_a_resent_request_with_the_same_id_seed_starts_no_second_run(event_key):
    # Inngest SDKs retry a failed send with the same X-Inngest-Event-Id-Seed header.
    send = [{"name": "test/steps", "data": {"count": 1}}]
    headers = {"X-Inngest-Event-Id-Seed": "1732540000000,q2vXc9sQ0nB0Ag=="}
    first = post_json(Client(headers=headers), f"/e/{event_key}", send).json()
    again = post_json(Client(headers=headers), f"/e/{event_key}", send).json()
    assert first["ids"] == again["ids"]
    other_seed = {"X-Inngest-Event-Id-Seed": "1732540000001,AAAAAAAAAAAAAA=="}
    post_json(Client(headers=other_seed), f"/e/{event_key}", send)
    assert Run.objects.count() == 2


def test_ingest_refuses_bad_keys_and_bad_events_in_inngests_format(event_key, api):
    event = {"name": "test/steps"}
    unknown = post_json(Client(), "/e/sdevt_00000000_nope", event)
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "unknown or revoked event key", "status": 401}
    api_key = api.api_key.plaintext  # an API key is not an event key
    assert post_json(Client(), f"/e/{api_key}", event).status_code == 401
    services.key_revoke(key=services.key_authenticate(kind="event", plaintext=event_key))
    assert post_json(Client(), f"/e/{event_key}", event).status_code == 401
    assert Client().get(f"/e/{event_key}").status_code == 405
    assert Event.objects.count() == 0


def test_ingest_names_each_bad_event_and_stores_none(event_key):
    response = post_json(Client(), f"/e/{event_key}", [
        {"name": "test/steps", "id": "fine"}, {"data": {}}, {"name": " x", "ts": -1}, "text",
    ])  # fmt: skip
    assert response.status_code == 400
    error = response.json()["error"]
    assert "event 1: name: Field required" in error
    assert "event 2: name: Value error, must not start or end with white space" in error
    assert "event 2: ts: Input should be greater than or equal to 0" in error
    assert "event 3: event: Input should be a valid dictionary" in error
    assert error.endswith("(nothing was stored)")
    assert Event.objects.count() == 0 and Run.objects.count() == 0
