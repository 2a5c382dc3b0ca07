"""Answering and deciding by email: a question's notification carries a signed reply address, a
reply posted to /inbound/email (or piped to `manage.py inbound_email`) answers it through the
desk's service, anything refused is told to the sender by email; an approval's signed links open a
confirmation page, and only its POST decides."""

import re
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core import mail
from django.test import Client

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import RunStatus
from supportdesk.inbox import email_replies, notifications
from tests.conftest import ROOT, in_threads, worker_environment
from tests.desk.test_approvals import reply_awaiting_approval

pytestmark = [pytest.mark.django_db(transaction=True)]

DOMAIN = "reply.desk.example.com"
SECRET = "inbound-shared-secret-0123456789"
REPLY = """Known crash, fixed in 2.4.2.
Turn offline mode off until then.

Thanks,
Ann
--
Ann Lee · Mobile team

On Tue, Nov 25, 2026 at 10:00 AM supportdesk <supportdesk@localhost> wrote:
> Technical Support needs a developer's input on ticket #1.
>
> Question: Is this a known issue?
"""


@pytest.fixture(autouse=True)
def inbound(settings):
    settings.INBOUND_EMAIL_DOMAIN = DOMAIN
    settings.INBOUND_EMAIL_SECRET = SECRET


def address(question) -> str:
    return email_replies.reply_address(question)


def reply(
    to: str,
    sender: str = "Ann Lee <ann@example.com>",
    body: str = REPLY,
    subject: str = "Re: [supportdesk] Technical Support asks about ticket #1",
    **headers,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def inbound_post(raw: bytes, secret: str = SECRET, client: Client | None = None):
    return (client or Client()).post(
        "/inbound/email",
        data=raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_EMAIL_SECRET=secret,
    )


def refusals_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


def pending(question) -> bool:
    return Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


# --- the reply address ------------------------------------------------------------------------


def test_a_questions_email_carries_its_reply_address(organization, ann, bob, ask):
    question = ask(organization)
    notifications.question_notify(question.pk, "opened")
    [sent] = mail.outbox
    [reply_to] = sent.reply_to
    local, _, domain = reply_to.partition("@")
    assert domain == DOMAIN and local.startswith("reply+") and len(local) <= 64  # RFC 5321
    assert re.fullmatch(r"reply\+[a-z2-7]{52}", local)  # survives a lowercasing mail system
    assert email_replies.reply_token_question_id(local.removeprefix("reply+")) == question.pk
    assert "Reply to this email to answer" in sent.body
    # Uppercased on the way, it still names the question.
    assert email_replies.reply_token_question_id(local.removeprefix("reply+").upper()) == (
        question.pk
    )


def test_without_an_inbound_domain_there_is_no_reply_address(organization, ann, ask, settings):
    settings.INBOUND_EMAIL_DOMAIN = ""
    question = ask(organization)
    notifications.question_notify(question.pk, "opened")
    assert mail.outbox[0].reply_to == [] and "Reply to this email" not in mail.outbox[0].body
    assert inbound_post(reply("x@y")).status_code == 404


# --- a reply answers --------------------------------------------------------------------------


def test_a_reply_answers_the_question_without_quoted_text_or_signature(
    organization, ann, ask, drain
):
    question = ask(organization)
    response = inbound_post(reply(f"supportdesk <{address(question)}>"))
    assert response.status_code == 200
    assert response.json() == {"status": "answered", "reason": "", "question": str(question.pk)}
    question.refresh_from_db()
    assert question.answer == "Known crash, fixed in 2.4.2.\nTurn offline mode off until then."
    assert (question.answered_by, question.answered_via) == ("Ann Lee", "email")
    assert question.answered_by_user == ann
    assert mail.outbox == []  # nothing to refuse
    drain()
    assert question.ticket.runs.get().status == RunStatus.COMPLETED
    assert "fixed in 2.4.2" in question.ticket.replies.get().body


def test_an_html_only_reply_is_read_as_text(organization, ann, ask):
    question = ask(organization)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ann@example.com", address(question), "Re"
    message.set_content(
        "<p>Fixed in <b>2.4.2</b>.</p><div>Restart the app.</div>"
        "<blockquote>On Tue, Ann wrote:<br>old</blockquote>",
        subtype="html",
    )
    assert inbound_post(bytes(message)).json()["status"] == "answered"
    question.refresh_from_db()
    assert question.answer == "Fixed in 2.4.2.\nRestart the app."


# --- refused: nothing recorded, the sender told why -------------------------------------------


def test_a_forged_token_is_refused_by_email(organization, ann, ask):
    question = ask(organization)
    token = address(question).removeprefix("reply+").split("@")[0]
    flip = {"a": "b"}
    for at in (10, 30, 51):  # the question id, the MAC, the last character's unused bits
        forged = token[:at] + flip.get(token[at], "a") + token[at + 1 :]
        response = inbound_post(reply(f"reply+{forged}@{DOMAIN}"))
        assert response.json()["status"] == "refused"
    told, *_ = refusals_to("ann@example.com")
    assert "not one of ours" in told.body and "Nothing was recorded." in told.body
    assert told.extra_headers["Auto-Submitted"] == "auto-replied"  # no mail loops
    assert told.subject.startswith("Re: Re: [supportdesk]")
    assert pending(question)
    # Another question's token with this question's id swapped in is as forged.
    other = ask(organization, title="Another crash")
    raw = email_replies.base64.b32decode(token.upper() + "====")
    swapped_raw = other.pk.bytes + raw[16:]
    swapped = email_replies.base64.b32encode(swapped_raw).decode().rstrip("=").lower()
    inbound_post(reply(f"reply+{swapped}@{DOMAIN}"))
    assert "not one of ours" in refusals_to("ann@example.com")[-1].body and pending(other)


def test_an_expired_token_is_refused_by_email(organization, ann, ask, settings):
    question = ask(organization)
    eight_days_ago = time.time() - 8 * 24 * 3600
    old = email_replies.reply_token(question.pk, issued_at=eight_days_ago)
    inbound_post(reply(f"reply+{old}@{DOMAIN}"))
    [told] = refusals_to("ann@example.com")
    assert "this reply address has expired" in told.body
    assert pending(question)
    settings.EMAIL_TOKEN_MAX_AGE = "9d"
    assert inbound_post(reply(f"reply+{old}@{DOMAIN}")).json()["status"] == "answered"


def test_a_reviewer_of_another_organization_is_refused(organization, ann, carol, ask):
    question = ask(organization)
    inbound_post(reply(address(question), sender="carol@example.com"))
    [told] = refusals_to("carol@example.com")
    assert "carol@example.com is not the address of a reviewer" in told.body
    assert f"/questions/{question.pk}/" not in told.body  # no link for a stranger
    assert pending(question)


def test_a_sender_who_is_not_a_reviewer_is_refused_by_email(organization, ann, ask):
    question = ask(organization)
    response = inbound_post(reply(address(question), sender="Mallory <mallory@example.com>"))
    assert response.json()["status"] == "refused"
    [told] = refusals_to("mallory@example.com")
    assert "is not the address of a reviewer" in told.body
    assert pending(question)


def test_an_empty_reply_is_refused(organization, ann, ask):
    question = ask(organization)
    quoted_only = "\nOn Tue, Nov 25, 2026 at 10:00 AM supportdesk wrote:\n> Is it known?\n"
    for body in ("", "   \n\n", quoted_only, "> Is it known?\n", "--\nAnn Lee\n"):
        assert inbound_post(reply(address(question), body=body)).json()["status"] == "refused"
    told = refusals_to("ann@example.com")
    assert len(told) == 5 and all("your reply was empty" in m.body for m in told)
    assert f"/questions/{question.pk}/" in told[0].body  # a reviewer gets the link
    assert pending(question)


def test_a_reply_to_an_answered_question_is_refused_with_who_answered(organization, ann, ask):
    question = ask(organization)
    services.question_answer(question=question, answered_by="Bob Ray", answer="Done.")
    assert inbound_post(reply(address(question))).json()["status"] == "refused"
    [told] = refusals_to("ann@example.com")
    assert "not taken: already answered by Bob Ray at" in told.body
    question.refresh_from_db()
    assert question.answer == "Done."


def test_automatic_messages_are_ignored_and_never_answered(organization, ann, ask):
    question = ask(organization)
    for headers in ({"Auto_Submitted": "auto-replied"}, {"Precedence": "bulk"}):
        raw = reply(address(question), body="I am out of office.", **headers)
        assert inbound_post(raw).json()["status"] == "ignored"
    bounce = reply(address(question), sender="MAILER-DAEMON@mx.example.com", body="failed")
    assert inbound_post(bounce).json()["status"] == "ignored"
    assert mail.outbox == [] and pending(question)


def test_the_inbound_route_needs_its_secret_and_a_message(organization, ann, ask):
    question = ask(organization)
    assert inbound_post(reply(address(question)), secret="").status_code == 401
    assert inbound_post(reply(address(question)), secret="wrong").status_code == 401
    assert Client().get("/inbound/email").status_code == 405
    assert inbound_post(b"").status_code == 400
    assert inbound_post(b"\x00\xff not an email at all").status_code == 400
    assert inbound_post(b"Subject: hi\n\nno sender").status_code == 400
    assert pending(question) and mail.outbox == []
    broken = (
        b'From: "Ann <ann@example.com\nTo: <<<@@@>>>, =?bogus?q?x?=\n'
        b"Subject: =?x-unknown?b?////?=\nContent-Type: text/plain; charset=x-unknown\n"
        b"\n\xff\xfe answer"
    )
    assert inbound_post(broken).status_code in (200, 400)  # refused or ignored, never a 500
    unreadable = reply(address(question)).replace(b'charset="utf-8"', b"charset=x-unknown")
    assert inbound_post(unreadable).json()["reason"].startswith("its text could not be read")
    assert pending(question)


def test_email_and_the_inbox_answering_at_once_one_wins_and_the_loser_is_told(
    organization, ann, bob, ask
):
    question = ask(organization)
    inbox = Client()
    inbox.force_login(bob)
    responses = {}

    def by_email():
        responses["email"] = inbound_post(reply(address(question)))

    def from_inbox():
        responses["inbox"] = inbox.post(
            f"/questions/{question.pk}/answer", {"answer": "From the inbox"}
        )

    assert in_threads(by_email, from_inbox) == []
    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED
    if question.answered_via == "email":
        assert responses["inbox"].status_code == 409
        assert "already answered by Ann Lee at" in responses["inbox"].content.decode()
        assert refusals_to("ann@example.com") == []
    else:
        assert (question.answered_via, question.answer) == ("web", "From the inbox")
        assert responses["email"].json()["status"] == "refused"
        [told] = refusals_to("ann@example.com")
        assert "already answered by Bob Ray at" in told.body


@pytest.mark.slow
def test_an_mta_pipes_a_reply_to_manage_py_inbound_email(organization, ann, ask):
    question = ask(organization)
    env = worker_environment(
        {
            "INBOUND_EMAIL_DOMAIN": DOMAIN,
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
    )
    piped = subprocess.run(
        [sys.executable, "manage.py", "inbound_email", "--recipient", address(question)],
        input=reply("undisclosed-recipients:;"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout.decode().startswith(f"answered (question {question.pk})")
    question.refresh_from_db()
    assert (question.answered_via, question.answered_by) == ("email", "Ann Lee")
    again = subprocess.run(
        [sys.executable, "manage.py", "inbound_email"],
        input=b"",
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert again.returncode == 1 and b"no message on standard input" in again.stderr


# --- approvals by email -----------------------------------------------------------------------


def links_in(message) -> dict[str, str]:
    found = re.findall(r"(Approve as proposed|Reject, with a reason): (\S+)", message.body)
    return {
        label.split()[0].strip(",").lower(): url.removeprefix("http://127.0.0.1:8000")
        for label, url in found
    }


def test_an_approvals_email_gives_each_reviewer_their_own_links(
    approving_organization, ann, bob, drain
):
    approval = reply_awaiting_approval(approving_organization, drain)
    notifications.question_notify(approval.pk, "opened")
    to_ann, to_bob = sorted(mail.outbox, key=lambda m: m.to)
    assert (to_ann.to, to_bob.to) == (["ann@example.com"], ["bob@example.com"])
    assert "Our engineering team says: Fixed in 2.4.2." in to_ann.body
    assert to_ann.reply_to == []  # an approval is decided with the links, not by replying
    assert links_in(to_ann)["approve"] != links_in(to_bob)["approve"]
    assert links_in(to_ann)["approve"].endswith("?decision=approve")


def test_an_approval_link_shows_a_confirmation_and_decides_nothing_until_posted(
    approving_organization, ann, bob, drain
):
    approval = reply_awaiting_approval(approving_organization, drain)
    notifications.question_notify(approval.pk, "opened")
    to_ann = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    link = links_in(to_ann)["approve"]
    browser = Client(enforce_csrf_checks=True)  # not signed in: the link is the credential

    for _ in range(2):  # a mail scanner fetching the link twice
        page = browser.get(link)
        assert page.status_code == 200
        html = page.content.decode()
        assert "wants to call <code>reply_to_customer</code>" in html
        assert "Opening this page decided nothing" in html and "Deciding as Ann Lee" in html
    assert pending(approval)

    csrf = browser.cookies["csrftoken"].value
    unconfirmed = browser.post(link, {"decision": "approve", "csrfmiddlewaretoken": csrf})
    assert unconfirmed.status_code == 400 and pending(approval)
    no_csrf = Client(enforce_csrf_checks=True).post(link, {"decision": "approve", "confirm": "yes"})
    assert no_csrf.status_code == 403 and pending(approval)

    done = browser.post(
        link, {"decision": "approve", "confirm": "yes", "csrfmiddlewaretoken": csrf}
    )
    assert done.status_code == 200 and "Approved by Ann Lee (email)" in done.content.decode()
    approval.refresh_from_db()
    assert (approval.decision, approval.answered_by, approval.answered_via) == (
        "approve",
        "Ann Lee",
        "email",
    )
    again = browser.post(
        link, {"decision": "approve", "confirm": "yes", "csrfmiddlewaretoken": csrf}
    )
    assert again.status_code == 409 and "already decided by Ann Lee" in again.content.decode()
    drain()
    assert list(approval.ticket.replies.values_list("body", flat=True)) == [
        approval.arguments["message"]
    ]


def test_a_reject_link_needs_a_reason_and_a_signed_in_reviewer_decides_as_themselves(
    approving_organization, ann, bob, drain
):
    approval = reply_awaiting_approval(approving_organization, drain)
    notifications.question_notify(approval.pk, "opened")
    link = links_in(next(m for m in mail.outbox if m.to == ["ann@example.com"]))["reject"]
    bob_browser = Client()
    bob_browser.force_login(bob)  # Ann forwarded the email to Bob, who is signed in
    page = bob_browser.get(link).content.decode()
    assert "Deciding as Bob Ray" in page and "Confirm: approve" not in page
    empty = bob_browser.post(link, {"decision": "reject", "confirm": "yes", "message": ""})
    assert empty.status_code == 400 and pending(approval)
    bob_browser.post(link, {"decision": "reject", "confirm": "yes", "message": "No dates."})
    approval.refresh_from_db()
    assert (approval.decision, approval.decision_message, approval.answered_by) == (
        "reject",
        "No dates.",
        "Bob Ray",
    )


def test_a_forged_or_expired_approval_link_decides_nothing(
    approving_organization, ann, drain, settings
):
    approval = reply_awaiting_approval(approving_organization, drain)
    notifications.question_notify(approval.pk, "opened")
    link = links_in(next(m for m in mail.outbox if m.to == ["ann@example.com"]))["approve"]
    token = link.split("/")[3]
    forged = link.replace(token, token[:-2] + "xx")
    page = Client().get(forged)
    assert page.status_code == 400 and "not one of ours" in page.content.decode()
    assert Client().post(forged, {"decision": "approve", "confirm": "yes"}).status_code == 400
    settings.EMAIL_TOKEN_MAX_AGE = "0s"
    time.sleep(1.1)
    assert "this link has expired" in Client().get(link).content.decode()
    assert pending(approval)
