"""API keys: a missing, unknown or revoked key answers 401; only a hash is stored; a key sees its
own organization's tickets, questions and runs, and another organization's ids answer 404."""

import hashlib

import pytest
from django.test import Client

from supportdesk.api import services
from supportdesk.api.models import ApiKey
from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import Run, RunStatus
from tests.api.conftest import post_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer nope", "Bearer sdapi_00000000_guess", "Basic dXNlcjpwdw==",
])  # fmt: skip
def test_a_missing_or_unknown_key_answers_401(organization, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = Client(headers=headers).get("/api/tickets")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["detail"].startswith("a valid API key is required")


def test_a_key_that_is_almost_right_answers_401(api):
    key = api.api_key.plaintext
    assert api.get("/api/tickets").status_code == 200

    def status_with(authorization: str) -> int:
        return Client(headers={"Authorization": authorization}).get("/api/tickets").status_code

    for wrong in (key[:-1] + ("A" if key[-1] != "A" else "B"), key + "x", key.upper()):
        assert status_with(f"Bearer {wrong}") == 401
    assert status_with(f"bearer {key}") == 200


def test_a_revoked_key_answers_401_at_once(api):
    assert api.get("/api/tickets").status_code == 200
    assert services.key_revoke(key=api.api_key.key) is True
    assert api.get("/api/tickets").status_code == 401
    assert post_json(api, "/api/tickets", {"title": "still here?"}).status_code == 401
    assert services.key_revoke(key=api.api_key.key) is False


def test_only_a_hash_and_a_prefix_are_stored(api):
    plaintext = api.api_key.plaintext
    key = ApiKey.objects.get()
    assert plaintext.startswith(f"{key.prefix}_") and key.prefix.startswith("sdapi_")
    assert len(plaintext) > 40
    assert key.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    stored = [str(value) for value in ApiKey.objects.values().get().values()]
    assert not any(plaintext in value for value in stored)
    assert key.last_used_at is None
    api.get("/api/tickets")
    assert ApiKey.objects.get().last_used_at is not None


@pytest.fixture
def acme_waiting_run(api, drain) -> Run:
    ticket = post_json(api, "/api/tickets", {"title": "The app crashes", "priority": "critical"})
    drain()
    return Run.objects.get(pk=ticket.json()["runs"][0]["id"])


def test_another_organizations_ids_answer_404(other_api, acme_waiting_run):
    run = acme_waiting_run
    ticket_id = run.tickets.get().pk
    question = Question.objects.get(run=run)
    answer = {"answer": "From Globex", "answered_by": "mallory"}
    for response in (
        other_api.get(f"/api/tickets/{ticket_id}"),
        other_api.get(f"/api/questions/{question.pk}"),
        post_json(other_api, f"/api/questions/{question.pk}/answer", answer),
        other_api.get(f"/api/runs/{run.pk}"),
        other_api.post(f"/api/runs/{run.pk}/cancel"),
        other_api.post(f"/api/runs/{run.pk}/retry"),
    ):
        assert response.status_code == 404, response.request["PATH_INFO"]
        assert response.json()["detail"].startswith("no ")
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING
    assert Run.objects.get(pk=run.pk).status == RunStatus.WAITING
    assert other_api.get("/api/tickets").json() == {"count": 0, "limit": 50, "offset": 0,
                                                     "items": []}  # fmt: skip
    assert other_api.get("/api/questions").json()["count"] == 0


def test_each_organization_sees_its_own(api, other_api, acme_waiting_run, drain):
    post_json(other_api, "/api/tickets", {"title": "Globex: export fails", "priority": "critical"})
    drain()
    acme = [t["title"] for t in api.get("/api/tickets").json()["items"]]
    globex = [t["title"] for t in other_api.get("/api/tickets").json()["items"]]
    assert acme == ["The app crashes"] and globex == ["Globex: export fails"]
    [acme_question] = api.get("/api/questions").json()["items"]
    [globex_question] = other_api.get("/api/questions").json()["items"]
    assert acme_question["run_id"] == str(acme_waiting_run.pk)
    assert globex_question["run_id"] != str(acme_waiting_run.pk)
