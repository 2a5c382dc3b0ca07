"""Answering and deciding from Slack: the official slack_sdk against a fake Slack Web API on
127.0.0.1, and interactions posted to /slack/interactions signed as Slack signs them."""

import hashlib
import hmac
import json
import time
from typing import Annotated, Literal
from urllib.parse import urlencode

import pytest
from django.test import Client
from pydantic import BaseModel, Field

from agents import Tool
from agents.approvals import ApprovalRequest
from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus, Reviewer, RoutingRule, Team
from supportdesk.durable.models import RunStatus
from supportdesk.inbox import slack
from supportdesk.inbox.models import SlackMessage
from tests.conftest import in_threads, make_reviewer, wait_until
from tests.desk.test_approvals import reply_awaiting_approval
from tests.fakes.slack_api import FakeSlackApi

pytestmark = [pytest.mark.django_db(transaction=True)]

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-1111-2222-acmeBotToken"


@pytest.fixture
def slack_api(settings):
    with FakeSlackApi(
        users={
            "U0ANN": "ann@example.com",
            "U0CAROL": "carol@example.com",
            "U0STRANGER": "stranger@example.com",
        }
    ) as fake:
        settings.SLACK_API_URL = fake.base_url
        yield fake


def with_slack_app(organization, channel: str = "C0DESK"):
    organization.slack_bot_token = TOKEN
    organization.slack_signing_secret = SECRET
    organization.slack_channel = channel
    organization.save(update_fields=["slack_bot_token", "slack_signing_secret", "slack_channel"])
    return organization


@pytest.fixture
def acme(organization, slack_api):
    return with_slack_app(organization)


def signed(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict:
    """The headers Slack sends: v0 signature of `v0:<timestamp>:<body>` with the signing secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": f"v0={digest.hexdigest()}",
    }


def form(payload) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def interact(payload, client: Client | None = None, **signing):
    body = form(payload)
    return (client or Client()).post(
        "/slack/interactions",
        data=body,
        content_type="application/x-www-form-urlencoded",
        **signed(body, **signing),
    )


def click(question, action: str, user: str = "U0ANN", channel: str = "C0DESK") -> dict:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "actions": [{"action_id": action, "value": str(question.pk), "type": "button"}],
    }


def submit(question, callback: str, values: dict, user: str = "U0ANN") -> dict:
    """A modal's submission; `values` is {block_id: the input's state}."""
    return {
        "type": "view_submission",
        "user": {"id": user},
        "view": {
            "callback_id": callback,
            "state": {"values": {block: {"value": state} for block, state in values.items()}},
            "private_metadata": json.dumps({"question": str(question.pk), "channel": "C0DESK"}),
        },
    }


def text(value: str | None) -> dict:
    return {"type": "plain_text_input", "value": value}


def ephemerals(slack_api, user: str) -> list[str]:
    return [c.args["text"] for c in slack_api.calls("chat.postEphemeral") if c.args["user"] == user]


def all_text(blocks) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def pending(question) -> bool:
    return Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


# --- posting ----------------------------------------------------------------------------------


def test_a_request_is_posted_to_its_teams_channel_with_its_question_and_an_answer_button(
    acme, ann, slack_api, ask
):
    mobile = Team.objects.create(organization=acme, name="Mobile", slack_channel="C0MOBILE")
    RoutingRule.objects.create(organization=acme, team=mobile, keywords="ios")
    routed = ask(acme, title="The iOS app crashes on launch")
    assert slack.request_post(routed.pk)
    unrouted = ask(acme, title="The web dashboard is down")
    assert slack.request_post(unrouted.pk)

    first, second = slack_api.calls("chat.postMessage")
    assert first.token == TOKEN
    assert first.args["channel"] == "C0MOBILE"  # its team's channel
    assert second.args["channel"] == "C0DESK"  # else the organization's default
    shown = all_text(first.args["blocks"])
    assert "Technical Support asks" in shown and "The iOS app crashes on launch" in shown
    assert routed.question.splitlines()[0][:60] in shown and "team Mobile" in shown
    [actions] = [b for b in first.args["blocks"] if b["type"] == "actions"]
    assert [(b["action_id"], b["value"]) for b in actions["elements"]] == [
        ("answer", str(routed.pk))
    ]
    posted = SlackMessage.objects.get(question=routed)
    assert (posted.channel, posted.ts) == ("C0MOBILE", "1700000000.000001")
    assert not slack.request_post(routed.pk)  # posted once


def test_an_approval_is_posted_with_its_arguments_readable_and_approve_edit_reject(
    approving_organization, ann, slack_api, drain
):
    with_slack_app(approving_organization)
    approval = reply_awaiting_approval(approving_organization, drain)
    slack.request_post(approval.pk)
    [post] = slack_api.calls("chat.postMessage")
    shown = all_text(post.args["blocks"])
    assert "wants to call `reply_to_customer`" in shown
    assert "*Message*\\n&gt;" not in shown and "*Message*\\n>" in shown  # quoted text, not JSON
    assert "Our engineering team says: Fixed in 2.4.2." in shown
    [actions] = [b for b in post.args["blocks"] if b["type"] == "actions"]
    assert [b["action_id"] for b in actions["elements"]] == ["approve", "edit", "reject"]
    assert actions["elements"][0]["confirm"]["confirm"]["text"] == "Approve"


def test_customer_text_cannot_mention_or_link_anyone_in_the_post(acme, ann, slack_api, ask):
    question = ask(acme, title="<!channel> <https://evil.example|click> & win")
    slack.request_post(question.pk)
    shown = all_text(slack_api.calls("chat.postMessage")[0].args["blocks"])
    assert "<!channel>" not in shown and "<https://evil.example" not in shown
    assert "&lt;!channel&gt;" in shown


def test_without_a_channel_or_a_bot_token_nothing_is_posted(organization, ann, slack_api, ask):
    question = ask(organization)
    assert not slack.request_post(question.pk)  # no Slack app
    with_slack_app(organization, channel="")
    assert not slack.request_post(question.pk)  # no channel for it
    assert slack_api.calls() == []


# --- signatures -------------------------------------------------------------------------------


def test_a_bad_or_stale_signature_is_401_and_nothing_is_recorded(acme, ann, slack_api, ask):
    question = ask(acme)
    answer = submit(question, "answer", {"answer": text("Fixed in 2.4.2.")})
    assert interact(answer, secret="not-the-signing-secret").status_code == 401
    stale = interact(answer, timestamp=int(time.time()) - 6 * 60)
    assert stale.status_code == 401 and b"stale" in stale.content
    future = interact(answer, timestamp=int(time.time()) + 6 * 60)
    assert future.status_code == 401
    body = form(answer)
    unsigned = Client().post(
        "/slack/interactions", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert unsigned.status_code == 401
    garbled = Client().post(
        "/slack/interactions",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP="yesterday",
        HTTP_X_SLACK_SIGNATURE="v0=00",
    )
    assert garbled.status_code == 401
    # The body changed after signing (an answer swapped in): the signature no longer fits.
    headers = signed(body)
    tampered = form(submit(question, "answer", {"answer": text("Refund everyone.")}))
    assert (
        Client()
        .post(
            "/slack/interactions",
            data=tampered,
            content_type="application/x-www-form-urlencoded",
            **headers,
        )
        .status_code
        == 401
    )
    assert pending(question) and slack_api.calls() == []


def test_a_replayed_request_is_refused(acme, ann, slack_api, ask):
    question = ask(acme)
    body = form(click(question, "answer"))
    headers = signed(body)

    def post():
        return Client().post(
            "/slack/interactions",
            data=body,
            content_type="application/x-www-form-urlencoded",
            **headers,
        )

    assert post().status_code == 200
    replayed = post()
    assert replayed.status_code == 401 and b"replayed" in replayed.content
    assert len(slack_api.calls("views.open")) == 1  # the modal opened once


def test_another_organizations_secret_cannot_act_on_this_organizations_requests(
    acme, other_organization, ann, slack_api, ask
):
    other_organization.slack_signing_secret = "globexSigningSecret0000"
    other_organization.slack_bot_token = "xoxb-globex-0000-token"
    other_organization.save()
    question = ask(acme)
    answer = submit(question, "answer", {"answer": text("Fixed in 2.4.2.")})
    response = interact(answer, secret="globexSigningSecret0000")
    assert response.status_code == 200  # a genuine Globex interaction…
    assert pending(question)  # …that can't find an Acme request
    assert ephemerals(slack_api, "U0ANN") == ["This request is not in supportdesk any more."]


def test_malformed_payloads_are_400_never_500(acme, ann, slack_api, ask):
    question = ask(acme)
    assert interact("{not json").status_code == 400
    latin1 = "payload=caf\xe9".encode("latin-1")
    headers = signed("payload=café")
    not_utf8 = Client().post(
        "/slack/interactions",
        data=latin1,
        content_type="application/x-www-form-urlencoded",
        **headers,
    )
    assert not_utf8.status_code == 400
    assert interact("[1, 2]").status_code == 400
    assert interact({"type": "block_actions", "actions": "nope"}).status_code == 400
    no_view = interact({"type": "view_submission", "user": {"id": "U0ANN"}})
    assert no_view.status_code == 400
    bad_meta = submit(question, "answer", {"answer": text("x")})
    bad_meta["view"]["private_metadata"] = "{{{"
    assert interact(bad_meta).status_code == 400
    odd = click(question, "answer")
    odd["actions"][0]["value"] = "../../etc/passwd"
    assert interact(odd).status_code == 200  # names no request: told so
    assert interact({"type": "shortcut"}).status_code == 200  # ignored
    assert pending(question)


# --- who the Slack user is --------------------------------------------------------------------


def test_a_slack_user_is_mapped_to_a_reviewer_by_email(acme, ann, slack_api, ask):
    question = ask(acme)
    assert interact(click(question, "answer", user="U0ANN")).status_code == 200
    assert [c.args["user"] for c in slack_api.calls("users.info")] == ["U0ANN"]
    [opened] = slack_api.calls("views.open")
    assert opened.args["view"]["callback_id"] == "answer"
    assert opened.args["trigger_id"].startswith("13345224609")


def test_an_explicit_link_maps_a_slack_user_whose_email_differs(acme, ann, bob, slack_api, ask):
    Reviewer.objects.filter(user=bob).update(slack_user_id="U0BOB")  # unknown to users.info
    question = ask(acme)
    interact(submit(question, "answer", {"answer": text("Fixed in 2.4.2.")}, user="U0BOB"))
    question.refresh_from_db()
    assert (question.answered_by, question.answered_via) == ("Bob Ray", "slack")
    assert slack_api.calls("users.info") == []  # the link is enough
    # Ann linked to another Slack account is not matched by her email any more.
    Reviewer.objects.filter(user=ann).update(slack_user_id="U0ANNWORK")
    second = ask(acme, title="Another crash")
    interact(click(second, "answer", user="U0ANN"))
    assert "not a reviewer of Acme Inc." in ephemerals(slack_api, "U0ANN")[-1]


def test_a_slack_user_who_is_not_a_reviewer_gets_an_ephemeral_refusal(
    acme, ann, carol, slack_api, ask
):
    make_reviewer("dee", acme).__class__.objects.filter(username="dee").update(is_active=False)
    slack_api.users["U0DEE"] = "dee@example.com"
    question = ask(acme)
    for user in ("U0STRANGER", "U0CAROL", "U0DEE", "U0NOBODY"):  # unknown, other org, inactive
        response = interact(submit(question, "answer", {"answer": text("Ship it")}, user=user))
        assert response.status_code == 200
        interact(click(question, "answer", user=user))
        [refusal, *_] = ephemerals(slack_api, user)
        assert refusal.startswith("You are not a reviewer of Acme Inc. in supportdesk")
    assert pending(question) and slack_api.calls("views.open") == []


# --- modals -----------------------------------------------------------------------------------


def test_the_answer_modal_answers_through_the_service_and_the_run_resumes(
    acme, ann, slack_api, ask, drain
):
    question = ask(acme)
    interact(click(question, "answer"))
    view = slack_api.calls("views.open")[0].args["view"]
    assert json.loads(view["private_metadata"]) == {
        "question": str(question.pk),
        "channel": "C0DESK",
    }
    [field] = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["block_id"] == "answer" and field["element"]["multiline"]

    blank = interact(submit(question, "answer", {"answer": text(None)}))
    assert blank.json() == {
        "response_action": "errors",
        "errors": {"answer": "answer must not be blank"},
    }
    assert pending(question)

    done = interact(submit(question, "answer", {"answer": text("Fixed in 2.4.2 tonight.")}))
    assert done.status_code == 200 and done.content == b""  # the modal closes
    question.refresh_from_db()
    assert (question.answer, question.answered_by, question.answered_via) == (
        "Fixed in 2.4.2 tonight.",
        "Ann Lee",
        "slack",
    )
    assert question.answered_by_user == ann
    drain()
    ticket = question.ticket
    assert ticket.runs.get().status == RunStatus.COMPLETED
    assert "Fixed in 2.4.2 tonight." in ticket.replies.get().body


def test_approve_from_slack_runs_the_call(approving_organization, ann, slack_api, drain):
    with_slack_app(approving_organization)
    approval = reply_awaiting_approval(approving_organization, drain)
    assert interact(click(approval, "approve")).status_code == 200
    approval.refresh_from_db()
    assert (approval.decision, approval.answered_by, approval.answered_via) == (
        "approve",
        "Ann Lee",
        "slack",
    )
    drain()
    assert list(approval.ticket.replies.values_list("body", flat=True)) == [
        approval.arguments["message"]
    ]


def test_reject_from_slack_needs_a_reason_and_the_call_does_not_run(
    approving_organization, ann, slack_api, drain
):
    with_slack_app(approving_organization)
    approval = reply_awaiting_approval(approving_organization, drain)
    interact(click(approval, "reject"))
    view = slack_api.calls("views.open")[0].args["view"]
    assert view["callback_id"] == "reject"
    empty = interact(submit(approval, "reject", {"reason": text(None)}))
    assert empty.json()["errors"] == {"reason": "a reason must not be blank"}
    assert pending(approval)
    interact(submit(approval, "reject", {"reason": text("Don't promise a date.")}))
    approval.refresh_from_db()
    assert (approval.decision, approval.decision_message, approval.answered_via) == (
        "reject",
        "Don't promise a date.",
        "slack",
    )
    drain()
    assert approval.arguments["message"] not in approval.ticket.replies.values_list(
        "body", flat=True
    )


class Refund(BaseModel):
    amount: Annotated[int, Field(ge=1, le=500, description="In whole euros")]
    currency: Literal["EUR", "USD"] = "EUR"
    notify: bool = False
    note: str = ""


def test_the_edit_modal_is_built_from_the_tools_schema_and_edits_are_validated(
    approving_organization, ann, slack_api, drain, monkeypatch
):
    """A richer tool than the demo's: a number stays a number, an enum is a select, a boolean a
    checkbox; what the schema refuses stays in the modal, under its field."""
    from supportdesk.desk import tools

    refund = Tool(lambda params, ctx: {"ok": True}, name="issue_refund", parameters=Refund)
    monkeypatch.setitem(tools.TOOLS, "issue_refund", refund)
    with_slack_app(approving_organization)
    reply = reply_awaiting_approval(approving_organization, drain)
    approval = services.approval_open(
        question_id="5b0c1e7a-0000-4000-8000-000000000001",
        ticket_id=reply.ticket_id,
        run_id=reply.run_id,
        expires_at=reply.expires_at,
        request=ApprovalRequest(
            agent="Billing",
            tool="issue_refund",
            call_id="toolu_1",
            arguments={"amount": 120, "currency": "USD", "notify": True},
            json_schema=refund.parameters.model_json_schema(),
        ),
    )

    interact(click(approval, "edit"))
    view = slack_api.calls("views.open")[0].args["view"]
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    # In the tool's order, on PostgreSQL too (whose jsonb keeps no key order of its own).
    assert list(inputs) == ["arg-amount", "arg-currency", "arg-notify", "arg-note"]
    amount = inputs["arg-amount"]
    assert amount["element"] == {
        "type": "number_input",
        "action_id": "value",
        "is_decimal_allowed": False,
        "initial_value": "120",
    }
    assert amount["hint"]["text"] == "In whole euros" and not amount["optional"]
    currency = inputs["arg-currency"]["element"]
    assert currency["type"] == "static_select"
    assert [o["value"] for o in currency["options"]] == ["EUR", "USD"]
    assert currency["initial_option"]["value"] == "USD"
    assert inputs["arg-notify"]["element"]["type"] == "checkboxes"
    assert inputs["arg-notify"]["element"]["initial_options"][0]["value"] == "on"
    assert inputs["arg-note"]["element"]["type"] == "plain_text_input"

    def edit(amount: str, **more):
        values = {
            "arg-amount": {"type": "number_input", "value": amount},
            "arg-currency": {"type": "static_select", "selected_option": {"value": "EUR"}},
            "arg-notify": {"type": "checkboxes", "selected_options": []},
            "arg-note": text(more.get("note")),
        }
        return interact(submit(approval, "edit", values))

    too_much = edit("9000")
    assert too_much.json()["response_action"] == "errors"
    assert "less than or equal to 500" in too_much.json()["errors"]["arg-amount"]
    assert edit("12.5").json()["errors"] == {"arg-amount": "“12.5” is not a whole number"}
    assert pending(approval)

    assert edit("250", note="Goodwill").content == b""
    approval.refresh_from_db()
    assert approval.decision == "edit" and approval.answered_via == "slack"
    assert approval.decided_arguments == {
        "amount": 250,
        "currency": "EUR",
        "notify": False,
        "note": "Goodwill",
    }


def test_an_edited_reply_from_slack_is_what_the_customer_gets(
    approving_organization, ann, slack_api, drain
):
    with_slack_app(approving_organization)
    approval = reply_awaiting_approval(approving_organization, drain)
    interact(click(approval, "edit"))
    [message] = [
        b for b in slack_api.calls("views.open")[0].args["view"]["blocks"] if b["type"] == "input"
    ]
    assert message["element"]["initial_value"] == approval.arguments["message"]
    edited = "Fixed in 2.4.2, out tonight."
    interact(submit(approval, "edit", {"arg-message": text(edited)}))
    drain()
    assert list(approval.ticket.replies.values_list("body", flat=True)) == [edited]


# --- answered elsewhere; races ----------------------------------------------------------------


def test_the_message_says_who_answered_when_answered_anywhere_else(acme, ann, bob, slack_api, ask):
    question = ask(acme)
    slack.request_post(question.pk)
    services.question_answer(
        question=question, answered_by="Bob Ray", answer="Use 2.4.2.", channel="web"
    )
    assert slack.request_update(question.pk)
    [update] = slack_api.calls("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("C0DESK", "1700000000.000001")
    shown = all_text(update.args["blocks"])
    assert "Answered by Bob Ray (the inbox) at" in shown and "&gt;Use 2.4.2." not in shown
    assert ">Use 2.4.2." in shown
    assert not [b for b in update.args["blocks"] if b["type"] == "actions"]  # no more buttons
    assert "answered by Bob Ray (the inbox)" in update.args["text"]
    assert SlackMessage.objects.get(question=question).closed_at is not None


def test_an_expired_or_cancelled_request_says_so(acme, ann, slack_api, ask):
    question = ask(acme)
    slack.request_post(question.pk)
    services.ticket_close(ticket=question.ticket, actor="Ann", channel="web")
    slack.request_update(question.pk)
    shown = all_text(slack_api.calls("chat.update")[0].args["blocks"])
    assert "Cancelled: its ticket was closed or its run stopped" in shown


def test_slack_and_the_inbox_answering_at_once_one_wins_and_the_loser_is_told(
    acme, ann, bob, slack_api, ask
):
    question = ask(acme)
    inbox = Client()
    inbox.force_login(bob)
    responses = {}

    def from_slack():
        answer = submit(question, "answer", {"answer": text("From Slack")})
        responses["slack"] = interact(answer)

    def from_inbox():
        responses["inbox"] = inbox.post(
            f"/questions/{question.pk}/answer", {"answer": "From the inbox"}
        )

    assert in_threads(from_slack, from_inbox) == []
    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED
    assert question.answer in ("From Slack", "From the inbox")
    if question.answered_via == "slack":
        assert responses["inbox"].status_code == 409
        assert "already answered by Ann Lee at" in responses["inbox"].content.decode()
        assert ephemerals(slack_api, "U0ANN") == []
    else:
        assert (question.answered_via, question.answered_by) == ("web", "Bob Ray")
        [told] = ephemerals(slack_api, "U0ANN")
        assert told.startswith("Your answer was not sent: already answered by Bob Ray at ")
    assert responses["slack"].status_code == 200


def test_a_click_on_an_answered_request_tells_who_answered(acme, ann, slack_api, ask):
    question = ask(acme)
    services.question_answer(question=question, answered_by="Bob Ray", answer="Done.")
    interact(click(question, "answer"))
    [told] = ephemerals(slack_api, "U0ANN")
    assert told.startswith("Nothing was changed: already answered by Bob Ray at ")
    assert slack_api.calls("views.open") == []


@pytest.mark.slow
def test_a_request_answered_from_the_command_line_updates_its_slack_message(
    live_app, acme, ann, slack_api
):
    """Through the real subscribers and queue: the server's worker posts the new request, and
    rewrites its message once the command line (another process) answered it."""
    app = live_app({"ANTHROPIC_API_KEY": "", "SLACK_API_URL": slack_api.base_url})
    ticket = services.ticket_create(
        organization=acme, title="Payments fail in 2.4.1", priority="critical"
    )
    [post] = wait_until(lambda: slack_api.calls("chat.postMessage"))
    question = Question.objects.get(ticket=ticket)
    assert str(question.pk) in all_text(post.args["blocks"])
    answered = app.cli("question", "answer", str(question.pk), "Fixed in 2.4.2.", "--by", "ann")
    assert answered.returncode == 0, answered.stderr
    wait_until(lambda: slack_api.calls("chat.update"))
    wait_until(lambda: ticket.runs.get().status == RunStatus.COMPLETED)
    time.sleep(1)  # a second update would be on its way by now
    [update] = slack_api.calls("chat.update")  # once, though the run announced it again
    assert "Answered by ann (the command line) at" in all_text(update.args["blocks"])
