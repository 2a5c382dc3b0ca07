"""Rate limits on /api/ and /e/: per key, per organization, and a cap on events per request."""

import uuid

import pytest
from django.test import Client

from supportdesk.api import limits as rate_limits
from supportdesk.api import services as api_services
from supportdesk.durable.models import Event
from tests.api.conftest import api_client, post_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limits(settings, monkeypatch):
    # One minute window for the whole test: a test crossing a minute boundary would see its
    # counters start again.
    monkeypatch.setattr(rate_limits, "clock", lambda: 1_800_000_010.0)

    def set_limits(**values):
        # A namespace of its own: counters of other tests (and the cache of Redis) stay apart.
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "NAMESPACE": uuid.uuid4().hex, **values}

    return set_limits


def test_a_key_past_its_budget_gets_429_with_retry_after(limits, organization):
    limits(KEY_REQUESTS_PER_MINUTE=3)
    api = api_client(organization)
    assert [api.get("/api/tickets").status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get("/api/tickets")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 51  # the window renews 50 s after the frozen clock
    assert "too many requests with this key: the limit is 3 a minute" in refused.json()["detail"]
    # Another key of the same organization has a budget of its own.
    assert api_client(organization, name="other").get("/api/tickets").status_code == 200


def test_an_organization_past_its_budget_is_refused_whatever_the_key(limits, organization):
    limits(ORG_REQUESTS_PER_MINUTE=4)
    keys = [api_client(organization, name=f"k{n}") for n in range(5)]
    statuses = [key.get("/api/tickets").status_code for key in keys]
    assert statuses == [200, 200, 200, 200, 429]


def test_events_count_against_the_organization_and_the_event_endpoint_too(
    limits, organization, other_organization
):
    limits(ORG_EVENTS_PER_MINUTE=150)
    api = api_client(organization)
    batch = [{"name": "test/nothing"} for _ in range(100)]
    assert post_json(api, "/api/events", batch).status_code == 200
    key = api_services.key_create(organization=organization, name="sdk", kind="event").plaintext
    refused = Client().post(f"/e/{key}", batch, content_type="application/json")
    assert refused.status_code == 429 and refused.json()["status"] == 429
    assert "Retry-After" in refused.headers
    assert Event.objects.count() == 100
    # The other organization is not affected by this one's flood.
    assert post_json(api_client(other_organization), "/api/events", batch).status_code == 200


def test_a_request_with_too_many_events_is_refused_whole(limits, organization):
    limits(MAX_EVENTS_PER_REQUEST=10)
    response = post_json(api_client(organization), "/api/events", [{"name": "x"}] * 11)
    assert response.status_code == 413
    assert "11 events in one request; the limit is 10" in response.json()["detail"]
    assert not Event.objects.exists()


def test_creating_tickets_counts_as_events(limits, organization):
    limits(ORG_EVENTS_PER_MINUTE=2)
    api = api_client(organization)
    statuses = [post_json(api, "/api/tickets", {"title": f"t{n}"}).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
