"""Reviewers in a real browser (Playwright driving Debian's chromium) against the app served by
`manage.py serve` with its embedded worker: questions arrive and leave live, across reviewers."""

import os
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from supportdesk.desk import services
from supportdesk.desk.models import Question
from supportdesk.durable.models import RunStatus
from tests.conftest import ROOT, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]
# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture
def app(live_app, organization):
    return live_app({"ANTHROPIC_API_KEY": ""})


def open_inbox(browser, app, user, path="/inbox/"):
    """A signed-in reviewer's inbox, its WebSocket open."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": app.url}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app.url + path)
    page.wait_for_selector("#live-status.on")
    return page


def card(page, question):
    return page.locator(f"#question-{question.pk}")


def test_two_reviewers_see_a_question_arrive_and_leave_live(browser, app, organization, ann,
                                                            bob, carol):  # fmt: skip
    ann_page = open_inbox(browser, app, ann)
    bob_page = open_inbox(browser, app, bob)
    carol_page = open_inbox(browser, app, carol)

    ticket = services.ticket_create(
        organization=organization, title="Checkout crashes on submit",
        body="Since 2.4.1 the checkout page crashes when I press Pay.", priority="critical",
        customer="dana@example.com",
    )  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())
    for page in (ann_page, bob_page):  # no reload: pushed over the WebSocket
        expect(card(page, question)).to_contain_text("Checkout crashes on submit")
        expect(card(page, question)).to_contain_text("Technical Support")
    expect(ann_page.locator(".countdown").first).to_contain_text("left")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ann_page.screenshot(path=SCREENSHOTS / "inbox.png", full_page=True)

    card(ann_page, question).get_by_role("link", name="Answer").click()
    ann_page.wait_for_url(re.compile(r"/questions/"))
    expect(ann_page.locator(".conversation")).to_contain_text("dana@example.com")
    ann_page.fill("#answer", "Known bug in 2.4.1's payment form; 2.4.2 ships tonight.")
    ann_page.get_by_role("button", name="Send answer and resume the run").click()
    ann_page.wait_for_url(re.compile(r"/inbox/$"))

    for page in (ann_page, bob_page):
        expect(card(page, question)).to_have_count(0)
    run = ticket.runs.get()
    wait_until(lambda: run.__class__.objects.get(pk=run.pk).status == RunStatus.COMPLETED)

    ann_page.goto(f"{app.url}/tickets/{ticket.pk}/")
    expect(ann_page.locator(".reply")).to_contain_text("2.4.2 ships tonight")
    expect(ann_page.locator(".timeline").first).to_contain_text("developer.response")
    ann_page.screenshot(path=SCREENSHOTS / "ticket.png", full_page=True)

    # The other organization's reviewer never saw it.
    assert card(carol_page, question).count() == 0
    assert "Checkout crashes" not in carol_page.content()


def test_an_inbox_whose_websocket_was_cut_converges_on_reconnect(browser, app, organization, ann,
                                                                  drain):  # fmt: skip
    answered_later = services.ticket_create(organization=organization, title="Old crash",
                                            priority="critical")  # fmt: skip
    old = wait_until(lambda: Question.objects.filter(ticket=answered_later).first())

    page_state = {"cut": False, "routes": []}
    client = Client()
    client.force_login(ann)
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": app.url}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    def relay(ws):
        server = ws.connect_to_server()
        page_state["routes"].append(ws)
        server.on_message(lambda message: None if page_state["cut"] else ws.send(message))

    page.route_web_socket(re.compile(r"/ws/inbox/"), relay)
    page.goto(app.url + "/inbox/")
    expect(card(page, old)).to_have_count(1)

    page_state["cut"] = True  # pushes are lost from here on
    services.question_answer(question=old, answered_by="Bob", answer="done")
    fresh_ticket = services.ticket_create(organization=organization, title="New crash",
                                          priority="critical")  # fmt: skip
    fresh = wait_until(lambda: Question.objects.filter(ticket=fresh_ticket).first())
    page.wait_for_timeout(500)
    assert card(page, old).count() == 1 and card(page, fresh).count() == 0  # stale while cut

    page_state["cut"] = False
    page_state["routes"][-1].close(code=1012, reason="service restart")  # the socket drops
    expect(card(page, fresh)).to_have_count(1)
    expect(card(page, old)).to_have_count(0)
    assert len(page_state["routes"]) == 2  # it reconnected


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="scale-out mode only: in the embedded mode the workers share the web process and its "
    "in-memory channel layer, so no push crosses processes",
)
def test_a_question_opened_by_a_separate_worker_is_pushed_through_redis(
    browser, live_app, start_worker, organization, ann
):
    # The web process runs no worker: the run, its question and the push all come from run_huey.
    app = live_app({"ANTHROPIC_API_KEY": "", "EMBEDDED_WORKER": "0"})
    start_worker(workers=2, extra_env={"ANTHROPIC_API_KEY": ""})
    page = open_inbox(browser, app, ann)

    ticket = services.ticket_create(organization=organization, title="Payments fail in 2.4.1",
                                    priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())
    expect(card(page, question)).to_contain_text("Payments fail in 2.4.1")  # no reload: pushed
    services.question_answer(question=question, answered_by="Ann", answer="Fixed in 2.4.2.")
    expect(card(page, question)).to_have_count(0)
    wait_until(lambda: ticket.runs.get().status == RunStatus.COMPLETED)
