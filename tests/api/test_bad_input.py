"""Every kind of bad request gets a clear 4xx and stores nothing: oversized bodies and events (413),
malformed JSON (400), invalid fields (422 naming each field)."""

import json

import pytest
from django.test import Client

from supportdesk.api import services
from supportdesk.api.body import MAX_EVENT_BYTES, MAX_REQUEST_BYTES
from supportdesk.desk.models import Ticket
from supportdesk.durable.models import Event, Run
from tests.api.conftest import post_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ingest_url(organization) -> str:
    key = services.key_create(organization=organization, name="sync", kind="event").plaintext
    return f"/e/{key}"


def event_of_size(size: int, **fields) -> dict:
    event = {"name": "test/steps", "data": {"blob": ""}, **fields}
    padding = size - len(json.dumps(event, separators=(",", ":")).encode())
    event["data"]["blob"] = "x" * padding
    return event


def test_an_event_over_256_kib_refuses_its_whole_batch(api, ingest_url):
    fits = event_of_size(MAX_EVENT_BYTES)
    assert post_json(api, "/api/events", fits).status_code == 200
    assert Event.objects.count() == 1

    batch = [{"name": "test/steps", "id": "small"}, event_of_size(MAX_EVENT_BYTES + 1)]
    response = post_json(api, "/api/events", batch)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "event 1 is 262,145 bytes; the limit is 256 KiB per event (nothing was stored)"
    }
    inngest = post_json(Client(), ingest_url, batch)
    assert inngest.status_code == 413 and inngest.json()["status"] == 413
    assert "event 1 is 262,145 bytes" in inngest.json()["error"]
    assert Event.objects.count() == 1 and not Event.objects.filter(event_id="small").exists()


def test_a_request_over_1_mib_is_refused_before_anything_else(api, ingest_url):
    batch = [event_of_size(200 * 1024) for _ in range(6)]  # every event fits, the request doesn't
    assert len(json.dumps(batch)) > MAX_REQUEST_BYTES
    for client, url in ((api, "/api/events"), (Client(), "/api/events"), (Client(), ingest_url)):
        response = post_json(client, url, batch)
        assert response.status_code == 413
        assert "the request body is larger than 1024 KiB, the limit" in response.content.decode()
    ticket = post_json(api, "/api/tickets", {"title": "big", "body": "x" * MAX_REQUEST_BYTES})
    assert ticket.status_code == 413
    assert Event.objects.count() == 0 and Ticket.objects.count() == 0


@pytest.mark.parametrize(("body", "problem"), [
    (b'{"name": "test/steps",', "malformed JSON: Expecting property name enclosed in double "
                                "quotes: line 1 column 23 (char 22)"),
    (b"", "malformed JSON: Expecting value: line 1 column 1 (char 0)"),
    (b'{"name": "x", "data": {"n": NaN}}', "malformed JSON: NaN is not a JSON number"),
    (b'{"name": "x", "data": {"n": 1e999}}', "malformed JSON: the number 1e999 is too large"),
    (b'{"name": "x", "data": {"k": "a\\u0000b"}}',
     "malformed JSON: $.data.k: the string contains a NUL character (\\u0000)"),
    (b'{"name": "x", "data": {"k": "\\ud800"}}',
     "malformed JSON: $.data.k: the string contains an unpaired surrogate"),
    (b'{"name": "x", "data": ' + b'[' * 70 + b']' * 70 + b'}',
     "nested deeper than 64 levels"),
    (b'\xff\xfe{}', "malformed JSON: the body is not UTF-8 (invalid start byte)"),
])  # fmt: skip
def test_malformed_json_is_a_400_that_says_why(api, ingest_url, body, problem):
    response = api.post("/api/events", body, content_type="application/json")
    if body:  # ninja reads an empty body as a missing one: a 422 naming the body
        assert response.status_code == 400
        assert problem in response.json()["detail"]
    inngest = Client().post(ingest_url, body, content_type="application/json")
    assert inngest.status_code == 400
    assert problem in inngest.json()["error"]
    assert Event.objects.count() == 0


def test_malformed_json_is_refused_on_every_endpoint_that_reads_a_body(api):
    for url in ("/api/tickets", "/api/questions/8a7602ff-8904-4740-bf5e-7e46c177227e/answer"):
        response = api.post(url, b"{title: 1}", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("malformed JSON: Expecting property name")


def test_invalid_fields_are_422_naming_each_field(api):
    response = post_json(api, "/api/tickets", {"title": "", "priority": "urgent", "body": 3})
    assert response.status_code == 422
    problems = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert problems == {
        ("body", "payload", "title"): "String should have at least 1 character",
        ("body", "payload", "priority"): "Input should be 'low', 'medium', 'high' or 'critical'",
        ("body", "payload", "body"): "Input should be a valid string",
    }
    missing = post_json(api, "/api/tickets", {})
    assert missing.json()["detail"][0]["loc"] == ["body", "payload", "title"]
    assert post_json(api, "/api/tickets", {"title": "x" * 301}).status_code == 422
    assert Ticket.objects.count() == 0


def test_a_batch_with_one_invalid_event_stores_none(api):
    batch = [{"name": "test/steps", "id": "good"}, {"name": "test/steps", "ts": -5},
             {"name": "test/steps", "ts": 2**64}, {"data": {}}]  # fmt: skip
    response = post_json(api, "/api/events", batch)
    assert response.status_code == 422
    locations = {tuple(e["loc"][-2:]) for e in response.json()["detail"]}
    assert {(1, "ts"), (2, "ts"), (3, "name")} <= locations
    assert Event.objects.count() == 0 and Run.objects.count() == 0


def test_a_body_of_the_wrong_shape_is_422_and_never_read_as_an_object(api):
    # A ninja Schema reads any object's attributes: the JSON string "AAA" was once a ticket titled
    # "Aaa" (str.title). Request bodies are plain pydantic models.
    for body in (b'"AAA"', b"[1, 2]", b"42", b"null"):
        response = api.post("/api/tickets", body, content_type="application/json")
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"] == ["body", "payload"]
    assert Ticket.objects.count() == 0


def test_errors_of_one_event_or_a_batch_name_the_field(api):
    one = post_json(api, "/api/events", {"name": " padded "})
    assert [e["loc"] for e in one.json()["detail"]] == [["body", "payload", "event", "name"]]
    assert one.json()["detail"][0]["msg"].endswith("must not start or end with white space")
    batch = post_json(api, "/api/events", [{"name": "fine"}, {"name": "x", "data": []}])
    assert [e["loc"] for e in batch.json()["detail"]] == [["body", "payload", "events", 1, "data"]]
