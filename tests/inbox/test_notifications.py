"""New and expired questions notify reviewers by email and, when configured, Slack; a failing
channel never breaks anything."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from supportdesk import durable
from supportdesk.desk import services
from supportdesk.desk.models import Organization, Question, QuestionStatus, Ticket
from supportdesk.durable.models import Run, RunStatus
from supportdesk.inbox import notifications
from tests.conftest import wait_until
from tests.fakes.mail import sent_emails

pytestmark = [pytest.mark.django_db(transaction=True)]


class FakeSlack:
    """A Slack incoming webhook on 127.0.0.1, recording what it is sent."""

    def __init__(self, status: int = 200, location: str = ""):
        self.posts: list[dict] = []
        self.requests: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                fake.requests.append(f"POST {self.path}")
                length = int(self.headers["Content-Length"])
                fake.posts.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self):
                fake.requests.append(f"GET {self.path}")
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/x"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack():
    fake = FakeSlack()
    yield fake
    fake.close()


def test_a_new_question_emails_reviewers_and_posts_to_slack(ann, bob, ask, organization, slack):
    organization.slack_webhook_url = slack.url
    organization.save(update_fields=["slack_webhook_url"])
    question = ask(organization, title="Checkout crashes")
    assert notifications.question_notify(question.pk, "opened") == {"email": True, "slack": True}
    [email] = mail.outbox
    assert sorted(email.to) == ["ann@example.com", "bob@example.com"]
    assert "Technical Support asks about ticket" in email.subject
    assert f"/questions/{question.pk}/" in email.body
    [post] = slack.posts
    assert "Checkout crashes" in post["text"]
    assert f"/questions/{question.pk}/|Open the question>" in post["text"]


def test_an_expired_question_is_reported_the_same_way(ann, ask, organization, slack):
    organization.slack_webhook_url = slack.url
    organization.save(update_fields=["slack_webhook_url"])
    question = ask(organization)
    notifications.question_notify(question.pk, "expired")
    assert "expired" in mail.outbox[0].subject.lower()
    assert "expired unanswered" in slack.posts[0]["text"]


def test_a_failing_webhook_is_logged_and_swallowed(ann, ask, organization, caplog):
    failing = FakeSlack(status=500)
    try:
        organization.slack_webhook_url = failing.url
        organization.save(update_fields=["slack_webhook_url"])
        question = ask(organization)
        assert notifications.question_notify(question.pk, "opened") == {
            "email": True, "slack": False,
        }  # fmt: skip
    finally:
        failing.close()
    assert "posting question" in caplog.text


# --- through the real path: a question opened or expired by a run in a `run_huey` worker ----------
def worker_ready(start_worker, **extra_env):
    """A `run_huey` worker on the offline demo model, proven up by a run it completed."""
    worker = start_worker(workers=2, extra_env={"ANTHROPIC_API_KEY": "", **extra_env})
    [sentinel] = durable.send_events({"name": "test/steps", "data": {"count": 1}})
    wait_until(lambda: Run.objects.get(event__event_id=sentinel).status == RunStatus.COMPLETED)
    return worker


@pytest.mark.slow
def test_opening_and_expiring_a_question_mail_and_post_through_the_worker(
    start_worker, ann, bob, organization, slack, tmp_path
):
    organization.slack_webhook_url = slack.url
    # Only the opening, the expiry and the ticket's needing attention here: no reminders in the
    # 2-second deadline (they have tests of their own, tests/reliability/test_reminders.py).
    organization.escalation = {"remind": [], "on_call": None, "everyone": None}
    organization.save(update_fields=["slack_webhook_url", "escalation"])
    mail_dir = tmp_path / "mail"
    worker_ready(
        start_worker,
        EMAIL_BACKEND="tests.fakes.mail.FileEmailBackend",
        TEST_EMAIL_DIR=str(mail_dir),
        SUPPORTDESK_QUESTION_TIMEOUT="2s",
        SUPPORTDESK_QUESTION_ANSWER_GRACE="0s",
    )
    ticket = services.ticket_create(organization=organization, title="Checkout crashes",
                                    priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())

    # Opened: the worker's notification task mailed both reviewers and posted to Slack.
    [opened] = wait_until(lambda: sent_emails(mail_dir))
    assert sorted(opened["To"].split(", ")) == ["ann@example.com", "bob@example.com"]
    assert "Technical Support asks about ticket" in opened["Subject"]
    assert "Checkout crashes" in opened["Subject"]
    assert f"/questions/{question.pk}/" in opened.get_content()
    wait_until(lambda: len(slack.posts) == 1)
    assert "Checkout crashes" in slack.posts[0]["text"]

    # Nobody answers: the run's wait expires in the worker, and the expiry is told the same way.
    run = ticket.runs.get()
    wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=30)
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.EXPIRED
    # Then the ticket, its question expired, needs attention: the reviewers hear that too.
    opened_again, *later = wait_until(lambda: len(found := sent_emails(mail_dir)) == 3 and found)
    # The expiry's and the ticket's notifications are separate tasks: either may come first.
    expired, attention = sorted(later, key=lambda email: "needs attention" in email["Subject"])
    assert f"Ticket #{ticket.pk} needs attention: Checkout crashes" in attention["Subject"]
    assert "the developer question expired unanswered" in attention.get_content()
    assert opened_again["Subject"] == opened["Subject"]
    assert "Unanswered question expired on ticket" in expired["Subject"]
    assert sorted(expired["To"].split(", ")) == ["ann@example.com", "bob@example.com"]
    assert f"/questions/{question.pk}/" in expired.get_content()
    wait_until(lambda: len(slack.posts) == 3)
    later_posts = " | ".join(post["text"] for post in slack.posts[1:])
    assert "expired unanswered" in later_posts and "needs attention" in later_posts
    assert len(sent_emails(mail_dir)) == 3


class SilentWebhook:
    """A webhook host that accepts connections and never answers: every post to it hangs until
    the notifier's timeout (SLACK_TIMEOUT_SECONDS)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)  # connections complete in the backlog; nobody ever reads them
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/services/T0/B0/x"

    def close(self):
        self.socket.close()


@pytest.mark.slow
def test_a_dead_webhook_and_a_failing_mail_server_do_not_break_the_run(
    start_worker, ann, organization
):
    webhook = SilentWebhook()
    try:
        organization.slack_webhook_url = webhook.url
        organization.save(update_fields=["slack_webhook_url"])
        worker = worker_ready(start_worker, EMAIL_BACKEND="tests.fakes.mail.FailingEmailBackend")
        started = time.monotonic()
        ticket = services.ticket_create(organization=organization, title="Checkout crashes",
                                        priority="critical")  # fmt: skip
        run = ticket.runs.get()
        wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.WAITING)
        # The run paused on its question without waiting for the hanging webhook...
        assert time.monotonic() - started < notifications.SLACK_TIMEOUT_SECONDS - 1
        question = Question.objects.get(ticket=ticket)
        # ...and its answer resumes it to the end while the notification still hangs.
        services.question_answer(question=question, answered_by="ann", answer="Roll back.")
        wait_until(lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED)
        assert time.monotonic() - started < notifications.SLACK_TIMEOUT_SECONDS
        assert "Our engineering team says: Roll back." in ticket.replies.get().body

        # The notification task really ran in the worker: both channels failed there, were
        # logged, and were swallowed (the mail failing did not stop the Slack attempt).
        wait_until(lambda: f"posting question {question.pk} to Slack failed" in worker.output())
        assert f"emailing reviewers about question {question.pk} failed" in worker.output()
        assert "ConnectionRefusedError: the mail server refused the connection" in worker.output()
    finally:
        webhook.close()


def test_line_breaks_in_a_title_or_question_cannot_add_lines(ann, ask, organization, slack):
    """A title saved with line breaks (admin, or before titles were made one line) still gets
    its email sent with a one-line subject, and can't add lines to the Slack message."""
    organization.slack_webhook_url = slack.url
    organization.save(update_fields=["slack_webhook_url"])
    question = ask(organization)
    Ticket.objects.filter(pk=question.ticket_id).update(
        title="Crash\r\nBcc: mallory@example.com\n*Approved by the CEO* <!channel>"
    )
    Question.objects.filter(pk=question.pk).update(
        agent="Technical\r\nSupport",
        question="Is this known?\n\nSecond paragraph\r\n<https://evil.example|Open the question>",
    )
    assert notifications.question_notify(question.pk, "opened") == {"email": True, "slack": True}
    [email] = mail.outbox
    assert email.subject.endswith("Crash Bcc: mallory@example.com *Approved by the CEO* <!channel>")
    headers, body = email.message().as_string().split("\n\n", 1)
    assert email.bcc == [] and "\nBcc:" not in headers
    assert (
        "\nTicket: Crash Bcc: mallory@example.com *Approved by the CEO* <!channel> (critical)\n"
        in body
    )
    [post] = slack.posts
    heading, *quoted, link = post["text"].split("\n")
    assert heading == (
        f"*Technical Support asks about ticket #{question.ticket_id} (critical)*: Crash Bcc: "
        "mallory@example.com *Approved by the CEO* &lt;!channel&gt;"
    )
    assert quoted == [
        ">Is this known?",
        ">",
        ">Second paragraph",
        ">&lt;https://evil.example|Open the question&gt;",
    ]
    assert link == f"<http://127.0.0.1:8000/questions/{question.pk}/|Open the question>"


def test_a_stored_url_outside_the_allow_list_is_not_posted_to(ann, ask, organization, slack,
                                                             settings, caplog):  # fmt: skip
    """Saved before the allow-list existed (or the list narrowed since): refused at sending."""
    Organization.objects.filter(pk=organization.pk).update(slack_webhook_url=slack.url)
    settings.SLACK_WEBHOOK_ALLOWED_PREFIXES = ["https://hooks.slack.com/"]
    question = ask(organization)
    assert notifications.question_notify(question.pk, "opened") == {"email": True, "slack": False}
    assert slack.requests == []
    assert "Only Slack incoming webhooks are accepted" in caplog.text


def test_a_redirecting_webhook_is_not_followed(ann, ask, organization, slack):
    internal = FakeSlack()  # stands for an internal address the redirect points to
    redirecting = FakeSlack(status=302, location=f"{internal.url}/admin")
    try:
        organization.slack_webhook_url = redirecting.url
        organization.save(update_fields=["slack_webhook_url"])
        question = ask(organization)
        assert notifications.question_notify(question.pk, "opened")["slack"] is False
        assert len(redirecting.requests) == 1 and internal.requests == []
    finally:
        redirecting.close()
        internal.close()


@pytest.mark.slow
def test_links_in_emails_point_at_the_port_the_server_listens_on(live_app, organization, ann,
                                                                  tmp_path, monkeypatch):
    """`serve --port N` without SITE_URL: the embedded workers' emails link to port N."""
    monkeypatch.delenv("SITE_URL", raising=False)
    mail_dir = tmp_path / "mail"
    app = live_app({"EMAIL_BACKEND": "tests.fakes.mail.FileEmailBackend",
                    "TEST_EMAIL_DIR": str(mail_dir), "ANTHROPIC_API_KEY": ""})  # fmt: skip
    ticket = services.ticket_create(organization=organization, title="Checkout crashes",
                                    priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())
    [opened] = wait_until(lambda: sent_emails(mail_dir))
    assert f"http://127.0.0.1:{app.port}/questions/{question.pk}/" in opened.get_content()
