"""The API's tests call it through Django's test client with a real API key of a real organization
(and, for the Inngest client and the docs, through the real server)."""

import pytest
from django.test import Client

from supportdesk.api import services


def api_client(organization, *, name: str = "tests") -> Client:
    """A client that sends a fresh API key of `organization`; the key is `client.api_key`."""
    issued = services.key_create(organization=organization, name=name)
    client = Client(headers={"Authorization": f"Bearer {issued.plaintext}"})
    client.api_key = issued
    return client


@pytest.fixture
def api(organization) -> Client:
    return api_client(organization)


@pytest.fixture
def other_api(other_organization) -> Client:
    return api_client(other_organization, name="globex tests")


def post_json(client: Client, url: str, data, **extra):
    return client.post(url, data, content_type="application/json", **extra)
