"""Approvals through the API and events, and through Claude (the real SDK against a fake Messages
API): one resource with questions, a decision per call, bad input refused naming each field."""

import json

import pytest

from supportdesk.desk import services
from supportdesk.desk.models import AgentConfig, Question, QuestionStatus
from tests.api.conftest import api_client, post_json
from tests.desk.test_approvals import reply_awaiting_approval
from tests.fakes.anthropic_server import FakeAnthropicServer, message, text_block, tool_use_block

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def approval(approving_organization, drain) -> Question:
    return reply_awaiting_approval(approving_organization, drain)


def decide(api, approval: Question, **body):
    return post_json(api, f"/api/questions/{approval.pk}/decision", body)


def test_approvals_are_listed_with_their_tool_arguments_and_schema(approval):
    api = api_client(approval.ticket.organization)
    page = api.get("/api/questions?kind=approval&status=pending").json()
    [item] = page["items"]
    assert (item["id"], item["kind"], item["tool"]) == (
        str(approval.pk), "approval", "reply_to_customer"
    )  # fmt: skip
    assert item["arguments"] == approval.arguments
    assert item["tool_schema"]["properties"]["message"]["type"] == "string"
    assert api.get("/api/questions?kind=question").json()["count"] == 1  # the developer question


def test_a_decision_through_the_api_once_then_409(approval, drain):
    api = api_client(approval.ticket.organization, name="Helpdesk")
    edited = {"message": "Fixed in 2.4.2: update the app."}
    first = decide(api, approval, decision="edit", arguments=edited, decided_by="Jo")
    assert first.status_code == 200, first.content
    assert (first.json()["decision"], first.json()["decided_arguments"]) == ("edit", edited)
    second = decide(api, approval, decision="reject", message="no")
    assert second.status_code == 409
    assert "already decided by Jo at " in second.json()["detail"]
    assert "edited and approved" in second.json()["detail"]
    drain()
    assert list(approval.ticket.replies.values_list("body", flat=True)) == [edited["message"]]
    approval.refresh_from_db()
    assert (approval.answered_via, approval.answered_key) == ("api", str(api.api_key.key))


@pytest.mark.parametrize(
    ("body", "locations"),
    [
        ({"decision": "edit", "arguments": {"message": 7}}, [["body", "arguments", "message"]]),
        ({"decision": "edit", "arguments": {"message": "ok", "to": "x", "cc": "y"}},
         [["body", "arguments", "to"], ["body", "arguments", "cc"]]),
        ({"decision": "edit", "arguments": {}}, [["body", "arguments", "message"]]),
        ({"decision": "approve", "arguments": {"message": "x"}}, [["body", "arguments"]]),
        ({"decision": "maybe"}, [["body", "payload", "decision"]]),
    ],
)  # fmt: skip
def test_bad_decisions_answer_422_naming_each_field_and_nothing_runs(
    approval, drain, body, locations
):
    response = decide(api_client(approval.ticket.organization), approval, **body)
    assert response.status_code == 422, response.content
    assert [problem["loc"] for problem in response.json()["detail"]] == locations
    drain()
    assert Question.objects.get(pk=approval.pk).status == QuestionStatus.PENDING
    assert not approval.ticket.replies.exists()


def test_a_decision_on_a_question_is_409_and_on_another_organizations_404(
    approval, other_organization
):
    api = api_client(approval.ticket.organization)
    question = approval.ticket.questions.get(kind="question")
    refused = decide(api, question, decision="approve")
    assert refused.status_code == 409
    assert "this is a question, not a proposed tool call" in refused.json()["detail"]
    assert decide(api_client(other_organization), approval, decision="approve").status_code == 404


def test_a_decision_sent_as_an_event_is_recorded_through_the_key(approval, drain):
    api = api_client(approval.ticket.organization, name="Slack bot")
    event = {"name": services.TOOL_DECISION, "id": "slack-decision-1",
             "data": {"questionId": str(approval.pk), "ticketId": approval.ticket_id,
                      "decision": "reject", "message": "Too vague", "decidedBy": "Jo"}}  # fmt: skip
    assert post_json(api, "/api/events", event).json() == {"ids": ["slack-decision-1"]}
    approval.refresh_from_db()
    assert (approval.decision, approval.answered_by, approval.answered_via) == (
        "reject", "Jo", "event"
    )  # fmt: skip
    late = dict(event, id="slack-decision-2", data={**event["data"], "decision": "approve",
                                                     "message": ""})  # fmt: skip
    response = post_json(api, "/api/events", late)
    assert response.status_code == 409  # decided already: the first answer stays
    drain()
    assert not approval.ticket.replies.filter(body=approval.arguments["message"]).exists()


# --- through Claude: several gated calls in one turn, each decided on its own -------------------
def claude(body: dict) -> dict:
    tools = {tool["name"] for tool in body.get("tools", [])}
    said = json.dumps(body["messages"])
    if "select_agent" in tools:
        if '"role": "assistant"' in said:
            return message(tool_use_block("done", {"summary": "handled"}))
        return message(tool_use_block("select_agent", {"name": "Customer Support", "reason": "x"}))
    if "tool_result" in said:
        return message(text_block("Both drafts were decided on; I am done."))
    return message(
        text_block("Two replies for review, and a search."),
        tool_use_block("reply_to_customer", {"message": "Draft one: reset your password."}),
        tool_use_block("search_knowledge_base", {"query": "password reset"}),
        tool_use_block("reply_to_customer", {"message": "Draft two: contact your admin."}),
    )


def test_each_gated_call_of_one_turn_gets_its_own_decision_through_claude(
    approving_organization, drain, settings, monkeypatch
):
    AgentConfig.objects.filter(organization=approving_organization,
                               name="Customer Support").update(
        tool_approvals={"reply_to_customer": {"mode": "always"}}
    )  # fmt: skip
    with FakeAnthropicServer(claude) as fake:
        settings.ANTHROPIC_API_KEY_SET = True
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        ticket = services.ticket_create(organization=approving_organization,
                                        title="I can't sign in")  # fmt: skip
        drain()
        first = ticket.questions.get(kind="approval", status="pending")
        assert first.arguments == {"message": "Draft one: reset your password."}
        edited = {"message": "Reset it from the sign-in page."}
        services.approval_decide(approval=first, decision="edit", decided_by="Ann",
                                 arguments=edited)  # fmt: skip
        drain()
        second = ticket.questions.get(kind="approval", status="pending")
        assert second.arguments == {"message": "Draft two: contact your admin."}
        services.approval_decide(approval=second, decision="reject", decided_by="Ann",
                                 message="One reply is enough")  # fmt: skip
        drain()
        last_request = fake.requests[-1]
    sent = list(ticket.replies.values_list("body", flat=True))
    assert sent == ["Reset it from the sign-in page."]
    results = [block for m in last_request["messages"] if m["role"] == "user"
               and isinstance(m["content"], list) for block in m["content"]
               if block.get("type") == "tool_result"]  # fmt: skip
    assert len(results) == 3  # the ungated search ran; both drafts were decided
    rejected = json.loads(results[2]["content"])
    assert results[2].get("is_error") and "One reply is enough" in rejected["error"]
    assert "articles" in json.loads(results[1]["content"])
    assert fake.duplicate_requests() == []
    assert ticket.runs.get().status == "completed"
