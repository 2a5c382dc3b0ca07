"""CSRF on every form; customer and model text rendered inert in pages, pushes and emails."""

import pytest
from django.core import mail
from django.test import Client

from supportdesk.desk import services
from supportdesk.inbox import notifications
from supportdesk.inbox.live import publish_question
from tests.conftest import XSS

pytestmark = [pytest.mark.django_db(transaction=True)]
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def test_every_form_enforces_csrf(ann, ask, organization):
    question = ask(organization)
    client = csrf_client(ann)
    for url, data in [
        (f"/questions/{question.pk}/answer", {"answer": "no token"}),
        (f"/questions/{question.pk}/claim", {}),
        (f"/questions/{question.pk}/release", {}),
        ("/accounts/logout/", {}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert csrf_client().post("/accounts/login/", {"username": "ann", "password": "pw"}
                              ).status_code == 403  # fmt: skip
    question.refresh_from_db()
    assert question.answer == "" and question.claimed_by is None


def test_the_forms_carry_the_token_and_work_with_it(ann, ask, organization):
    question = ask(organization)
    client = csrf_client(ann)
    page = client.get(f"/questions/{question.pk}/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(f"/questions/{question.pk}/answer",
                           {"answer": "ok", "csrfmiddlewaretoken": token})  # fmt: skip
    assert response.status_code == 302


def hostile_question(ask, organization):
    return ask(organization, title=f"Crash {XSS}", body=f"body {XSS}", customer=f"{XSS}@x")


def test_customer_and_model_text_is_inert_on_every_page(ann, ask, organization, drain):
    question = hostile_question(ask, organization)
    client = csrf_client(ann)
    pages = [
        "/inbox/",
        f"/questions/{question.pk}/",
        "/tickets/",
        f"/tickets/{question.ticket_id}/",
    ]
    for url in pages:
        page = client.get(url).content.decode()
        assert XSS not in page, url
        assert ESCAPED in page, url
    services.question_answer(question=question, answered_by=f"Mallory {XSS}", answer=XSS)
    drain()
    for url in ["/inbox/history/", f"/questions/{question.pk}/", f"/tickets/{question.ticket_id}/"]:
        assert XSS not in client.get(url).content.decode(), url


def test_pushed_fragments_are_escaped(ask, organization, monkeypatch):
    question = hostile_question(ask, organization)
    sent = []
    monkeypatch.setattr("supportdesk.inbox.live._send", lambda group, message: sent.append(message))
    publish_question(question.pk)
    [message] = [m for m in sent if m["type"] == "question.changed"]  # (the other: its page's)
    assert XSS not in message["card"] and ESCAPED in message["card"]


def test_emails_are_plain_text_and_slack_text_is_escaped(ann, ask, organization):
    question = hostile_question(ask, organization)
    notifications.question_notify(question.pk, "opened")
    [email] = mail.outbox
    assert email.alternatives == []  # text/plain only: nothing in it can run
    assert email.content_subtype == "plain"
    text = notifications.slack_text({"question": question, "ticket": question.ticket,
                                     "kind": "opened", "url": "http://x/"})  # fmt: skip
    assert "<script>" not in text and "&lt;script&gt;" in text
