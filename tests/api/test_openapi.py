"""The API's description: /api/openapi.json documents every endpoint and every answer they give
(schemathesis checks that against generated requests), and /api/docs works offline."""

import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.wsgi import get_wsgi_application
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from supportdesk.api import services

pytestmark = pytest.mark.django_db(transaction=True)

OPERATIONS = {
    ("post", "/api/tickets"), ("get", "/api/tickets"), ("get", "/api/tickets/{ticket_id}"),
    ("get", "/api/tickets/{ticket_id}/questions"), ("get", "/api/tickets/{ticket_id}/runs"),
    ("get", "/api/tickets/{ticket_id}/messages"),
    ("get", "/api/questions"), ("get", "/api/questions/{question_id}"),
    ("get", "/api/question-groups"), ("post", "/api/question-groups/{group_id}/answer"),
    ("post", "/api/questions/{question_id}/answer"), ("get", "/api/runs/{run_id}"),
    ("post", "/api/runs/{run_id}/cancel"), ("post", "/api/runs/{run_id}/retry"),
    ("post", "/api/events"), ("post", "/api/tickets/{ticket_id}/messages"),
    ("post", "/api/tickets/{ticket_id}/close"), ("post", "/api/tickets/{ticket_id}/reopen"),
    ("post", "/api/tickets/{ticket_id}/retry"), ("post", "/api/questions/{question_id}/decision"),
}  # fmt: skip


def test_openapi_documents_every_operation_and_its_key():
    spec = Client().get("/api/openapi.json").json()
    documented = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert documented == OPERATIONS
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "http", "scheme": "bearer",
    }  # fmt: skip
    ticket_create = spec["paths"]["/api/tickets"]["post"]
    assert set(ticket_create["responses"]) == {"201", "400", "401", "413", "422", "429"}


def test_the_docs_page_loads_nothing_from_another_host():
    page = Client().get("/api/docs").content.decode()
    assert '"validatorUrl": null' in page  # no swagger.io validator badge
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(url.startswith("/static/ninja/") for url in urls), urls
    assert all(finders.find(url.removeprefix("/static/")) for url in urls)
    assert "//" not in "".join(urls)


# Loaded at import (the description needs no database); schemathesis' lazy `from_fixture` fails
# under pytest 9 ("'Function' object has no attribute '_nodeid'").
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def api_key(organization) -> str:
    return services.key_create(organization=organization, name="schemathesis").plaintext


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
def test_generated_requests_get_documented_answers_and_never_a_5xx(case, api_key):
    # Every request carries a valid key, so generated data reaches the endpoints (401s have their
    # own tests). Unknown query parameters are ignored, as usual, so schemathesis' "negative data
    # rejection" check does not apply.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                response_schema_conformance],
    )  # fmt: skip
