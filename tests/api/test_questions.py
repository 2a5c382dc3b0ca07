"""The agents' questions through the API: listed by status, read, answered once (the run resumes);
a second answer or a late one is refused with 409 and changes nothing."""

import pytest
from django.utils import timezone

from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import Event, RunStatus
from tests.api.conftest import post_json

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ask_via_api(api, drain):
    """A critical ticket created through the API, its run waiting on its question."""

    def ask_question(title: str = "The app crashes on launch") -> Question:
        ticket = post_json(api, "/api/tickets", {"title": title, "priority": "critical"}).json()
        drain()
        return Question.objects.get(ticket_id=ticket["id"])

    return ask_question


def test_listing_questions_by_status(api, ask_via_api):
    first, second = ask_via_api("Checkout crashes"), ask_via_api("Dashboard is down")
    Question.objects.filter(pk=first.pk).update(status=QuestionStatus.EXPIRED)

    everything = api.get("/api/questions").json()
    assert everything["count"] == 2
    assert [q["id"] for q in everything["items"]] == [str(second.pk), str(first.pk)]
    pending = api.get("/api/questions", {"status": "pending"}).json()
    assert [q["id"] for q in pending["items"]] == [str(second.pk)]
    assert pending["items"][0]["ticket_id"] == second.ticket_id
    assert api.get("/api/questions", {"status": "expired", "limit": 1}).json()["count"] == 1
    assert api.get("/api/questions", {"status": "maybe"}).status_code == 422


def test_a_question_in_detail(api, ask_via_api):
    question = ask_via_api()
    detail = api.get(f"/api/questions/{question.pk}").json()
    assert detail["question"] == question.question and detail["context"] == question.context
    assert detail["run_id"] == str(question.run_id) and detail["status"] == "pending"
    assert detail["expires_at"] and detail["answered_at"] is None


def test_answering_resumes_the_run_and_a_second_answer_is_refused(api, ask_via_api, drain):
    question = ask_via_api()
    response = post_json(api, f"/api/questions/{question.pk}/answer",
                         {"answer": "Fixed in 2.4.2.", "answered_by": "ann"})  # fmt: skip
    assert response.status_code == 200
    answered = response.json()
    assert answered["status"] == "answered" and answered["answered_by"] == "ann"
    assert answered["answer"] == "Fixed in 2.4.2." and answered["answered_at"]

    drain()
    ticket = api.get(f"/api/tickets/{question.ticket_id}").json()
    assert ticket["runs"][0]["status"] == RunStatus.COMPLETED
    assert "2.4.2" in ticket["replies"][0]["body"]

    again = post_json(api, f"/api/questions/{question.pk}/answer",
                      {"answer": "No, wait.", "answered_by": "bob"})  # fmt: skip
    assert again.status_code == 409
    assert again.json()["detail"].startswith("already answered by ann at ")
    question.refresh_from_db()
    assert question.answer == "Fixed in 2.4.2." and question.answered_by == "ann"
    assert Event.objects.filter(name="app/support.ticket.developer-response").count() == 1


def test_an_expired_question_cannot_be_answered(api, ask_via_api):
    question = ask_via_api()
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now())
    response = post_json(api, f"/api/questions/{question.pk}/answer",
                         {"answer": "Too late?", "answered_by": "ann"})  # fmt: skip
    assert response.status_code == 409
    assert response.json()["detail"].startswith("this question expired at ")
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_an_answer_needs_both_fields(api, ask_via_api):
    question = ask_via_api()
    response = post_json(api, f"/api/questions/{question.pk}/answer", {"answer": ""})
    assert response.status_code == 422
    problems = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert problems.keys() == {("body", "payload", "answer"), ("body", "payload", "answered_by")}
    assert "at least 1 character" in problems["body", "payload", "answer"]
    blank = post_json(api, f"/api/questions/{question.pk}/answer",
                      {"answer": "  ", "answered_by": "ann"})  # fmt: skip
    assert blank.status_code == 400 and blank.json() == {"detail": "answer must not be blank"}
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_unknown_question_ids(api):
    missing = api.get("/api/questions/8a7602ff-8904-4740-bf5e-7e46c177227e")
    assert missing.status_code == 404
    assert "no question with id 8a7602ff" in missing.json()["detail"]
    assert api.get("/api/questions/not-a-uuid").status_code == 422
    answer = post_json(api, "/api/questions/8a7602ff-8904-4740-bf5e-7e46c177227e/answer",
                       {"answer": "x", "answered_by": "y"})  # fmt: skip
    assert answer.status_code == 404
