"""The desk's own events from outside (`POST /api/events`, `/e/<key>`): ticket ids are checked at
the door, and an answer sent as an event is an answer like any other."""

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from supportdesk.api import services as api_services
from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import Event, RunStatus
from supportdesk.inbox.live import _publisher
from tests.api.conftest import post_json
from tests.inbox.test_consumers import connect, receive_push, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def response_event(question: Question, **data) -> dict:
    return {
        "name": services.DEVELOPER_RESPONSE,
        "data": {"ticketId": question.ticket_id, "questionId": str(question.pk),
                 "answer": "Roll back to 2.4.0.", **data},
    }  # fmt: skip


@pytest.mark.parametrize("ticket_id", ["42", "", None, True, 4.5, [42], -1, 2**64])
def test_a_ticket_id_that_is_not_an_integer_is_refused_naming_the_field(api, ticket_id):
    """ "42" started a run whose wait compared "42" with the integer its answer carried: the
    reviewer's answer was lost. Now the door refuses it, and nothing is stored."""
    event = {"name": services.TICKET_CREATED, "data": {"ticketId": ticket_id}}
    response = post_json(api, "/api/events", [{"name": "test/steps"}, event])
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", 1, "data", "ticketId"]
    assert "data.ticketId must be a ticket id, a positive integer such as 42" in problem["msg"]
    assert not Event.objects.exists()


def test_an_event_about_an_unknown_ticket_is_refused(api, organization, other_organization):
    theirs = services.ticket_create(organization=other_organization, title="Not yours")
    for ticket_id in (424242, theirs.pk):
        response = post_json(
            api, "/api/events", {"name": services.TICKET_CLOSED, "data": {"ticketId": ticket_id}}
        )
        assert response.status_code == 422
        assert f"there is no ticket {ticket_id} in this organization" in str(response.json())


def test_the_inngest_endpoint_refuses_the_same_with_its_own_error_shape(organization):
    key = api_services.key_create(organization=organization, name="sdk", kind="event").plaintext
    response = Client().post(
        f"/e/{key}", {"name": services.TICKET_CREATED, "data": {"ticketId": "7"}},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422 and "data.ticketId must be a ticket id" in body["error"]
    assert "(nothing was stored)" in body["error"]


def test_an_integral_float_is_the_integer_it_means(api, organization, drain):
    ticket = services.ticket_create(organization=organization, title="Export is slow")
    drain()
    post_json(api, "/api/events", {"name": services.TICKET_CLOSED,
                                   "data": {"ticketId": float(ticket.pk)}})  # fmt: skip
    assert Event.objects.get(name=services.TICKET_CLOSED).data == {"ticketId": ticket.pk}


def test_an_answer_sent_as_an_event_answers_the_question_once(api, organization, ask, drain, ann):
    """It resumed the run, but the question stayed pending everywhere and a reviewer answering
    it later was told 200 while the answer went nowhere."""
    question = ask(organization)
    event = {**response_event(question, answeredBy="Jane (Slack)"), "id": "slack-1"}
    cookie = session_cookie(ann)

    async def inbox_sees_it_go():
        inbox = connect("/ws/inbox/", cookie)
        assert (await inbox.connect())[0]
        assert str(question.pk) in await inbox.receive_from()
        response = await database_sync(post_json)(api, "/api/events", event)
        assert response.status_code == 200 and response.json() == {"ids": ["slack-1"]}
        await database_sync(_publisher.flush)()
        assert f'id="question-{question.pk}" hx-swap-oob="delete"' in await receive_push(inbox)
        await inbox.disconnect()

    async_to_sync(inbox_sees_it_go)()
    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED
    assert (question.answer, question.answered_by) == ("Roll back to 2.4.0.", "Jane (Slack)")
    assert question.answered_via == "event" and question.answered_key == str(api.api_key.key)
    # Sent again (a client retrying): accepted and ignored.
    assert post_json(api, "/api/events", event).json() == {"ids": ["slack-1"]}
    assert Event.objects.filter(name=services.DEVELOPER_RESPONSE).count() == 1
    # A reviewer who comes later is told who answered, through the API as through the inbox.
    late = post_json(api, f"/api/questions/{question.pk}/answer",
                     {"answer": "me too", "answered_by": "Bob"})  # fmt: skip
    assert late.status_code == 409 and "already answered by Jane (Slack)" in late.json()["detail"]
    drain()
    ticket = question.ticket
    assert ticket.runs.get().status == RunStatus.COMPLETED
    assert "Roll back to 2.4.0." in ticket.replies.get().body


def database_sync(function):
    from channels.db import database_sync_to_async

    return database_sync_to_async(function)


def test_an_answer_event_for_an_answered_question_is_refused_whole(api, organization, ask):
    question = ask(organization)
    services.question_answer(question=question, answered_by="Ann", answer="Known.")
    response = post_json(api, "/api/events", [{"name": "test/steps"}, response_event(question)])
    assert response.status_code == 409
    assert "already answered by Ann" in response.json()["detail"]
    assert not Event.objects.filter(name="test/steps").exists()  # the batch was refused whole


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"questionId": "not-a-uuid"}, "questionId", "no question 'not-a-uuid'"),
        ({"answer": ""}, "data", "answer must not be blank"),
        ({"answer": 42}, "data", "answer must be text"),
    ],
)
def test_a_bad_answer_event_is_refused_naming_what_is_wrong(
    api, organization, ask, data, field, message
):
    question = ask(organization)
    response = post_json(api, "/api/events", response_event(question, **data))
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"][-1] == field and message in problem["msg"]
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_an_answer_event_must_name_the_questions_own_ticket(api, organization, ask):
    question = ask(organization)
    other = services.ticket_create(organization=organization, title="Another")
    response = post_json(api, "/api/events", response_event(question, ticketId=other.pk))
    assert response.status_code == 422
    assert f"is about ticket {question.ticket_id}, not {other.pk}" in str(response.json())


def test_a_client_cannot_squat_the_id_of_the_inbox_answer(api, organization, ask, drain):
    """A client event with id `developer-response-<question id>` made the inbox's answer a
    duplicate, deduplicated away: the run waited until its timeout."""
    question = ask(organization)
    squat = {"name": "app/anything", "id": f"developer-response-{question.pk}"}
    assert post_json(api, "/api/events", squat).status_code == 200
    services.question_answer(question=question, answered_by="Ann", answer="Fixed in 2.4.2.")
    drain()
    assert question.ticket.runs.get().status == RunStatus.COMPLETED
