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

# The README's screenshots are refreshed on purpose (UPDATE_SCREENSHOTS=1 make test); otherwise the
# tests still take them, into var/, so a test run never dirties the checkout.
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
SCREENSHOTS = README_SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else ROOT / "var" / "shots"
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
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


def test_closing_a_ticket_from_the_command_line_removes_its_card_from_an_open_inbox(
    browser, app, organization, ann
):
    """The CLI cancelled the question, but every open inbox kept the card, answerable, until
    reloaded: in the embedded mode the CLI is another process, whose pushes reached nobody."""
    page = open_inbox(browser, app, ann)
    result = app.cli("ticket", "create", "--title", "Payments fail", "--priority", "critical")
    assert result.returncode == 0, result.stderr
    question = wait_until(lambda: Question.objects.filter(ticket__title="Payments fail").first())
    expect(card(page, question)).to_contain_text("Payments fail")
    closed = app.cli("ticket", "close", str(question.ticket_id), "--by", "ann")
    assert closed.returncode == 0, closed.stderr
    expect(card(page, question)).to_have_count(0, timeout=2_000)  # live, within 2 s


def test_a_reviewer_edits_a_reply_before_it_reaches_the_customer(
    browser, live_app, approving_organization, ann
):
    """A critical ticket → the reply's approval arrives live → the reviewer edits the text → the
    customer's reply on the ticket page is the edited text."""
    app = live_app({"ANTHROPIC_API_KEY": ""})
    page = open_inbox(browser, app, ann)
    ticket = services.ticket_create(
        organization=approving_organization, title="Checkout crashes on submit",
        body="Since 2.4.1 the checkout page crashes when I press Pay.", priority="critical",
    )  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())
    services.question_answer(question=question, answered_by="Dev", answer="Fixed in 2.4.2.")
    approval = wait_until(lambda: Question.objects.filter(ticket=ticket, kind="approval").first())
    approval_card = card(page, approval)
    expect(approval_card).to_contain_text("wants to call reply_to_customer")
    expect(approval_card.locator(".proposed-text")).to_contain_text("Our engineering team says")
    page.wait_for_timeout(500)  # the card's arrival animation
    page.screenshot(path=SCREENSHOTS / "approval.png", full_page=True)

    approval_card.focus()
    page.keyboard.press("e")  # the key for Edit, on the focused card
    page.wait_for_url(re.compile(rf"/questions/{approval.pk}/#edit$"))
    edited = "Fixed in 2.4.2, out tonight. Until then, pay from the web site."
    page.fill("#arg-message", edited)
    page.locator(".answer-panel").screenshot(path=SCREENSHOTS / "approval-edit.png")
    page.get_by_role("button", name="Run with these arguments").click()
    page.wait_for_url(re.compile(r"/inbox/$"))
    expect(card(page, approval)).to_have_count(0)
    wait_until(lambda: ticket.runs.get().__class__.objects.get(pk=ticket.runs.get().pk).status
               == RunStatus.COMPLETED)  # fmt: skip
    page.goto(f"{app.url}/tickets/{ticket.pk}/")
    expect(page.locator(".reply")).to_contain_text(edited)
    expect(page.locator("body")).to_contain_text("edited and approved by Ann Lee (the inbox) → ran")


def test_my_teams_and_escalation_on_the_inbox_cards(browser, app, organization, ann, bob):
    """Ann's inbox shows her teams' requests by default (Mobile, and what is routed nowhere), each
    card with its team and how far it was reminded and escalated; "Everyone's" shows Backend's."""
    from supportdesk.desk.models import Reviewer, RoutingRule, Team

    ann_reviewer = Reviewer.objects.get(user=ann)
    mobile = Team.objects.create(organization=organization, name="Mobile", on_call=ann_reviewer)
    mobile.members.add(ann_reviewer)
    backend = Team.objects.create(organization=organization, name="Backend")
    backend.members.add(Reviewer.objects.get(user=bob))
    RoutingRule.objects.create(organization=organization, team=mobile, keywords="ios, android")
    RoutingRule.objects.create(organization=organization, team=backend, position=1,
                               keywords="payment, checkout")  # fmt: skip

    def opened(title: str) -> Question:
        ticket = services.ticket_create(organization=organization, title=title, priority="critical")
        return wait_until(lambda: Question.objects.filter(ticket=ticket).first())

    crash = opened("The iOS app crashes on launch")
    payments = opened("Payments fail at checkout")
    export = opened("The web dashboard is down")
    services.request_nudge(question_id=crash.pk, action="remind")
    services.request_nudge(question_id=crash.pk, action="on_call")

    page = open_inbox(browser, app, ann)
    expect(card(page, crash)).to_contain_text("Mobile")
    expect(card(page, crash).locator(".nudges")).to_contain_text("escalated to on-call Ann Lee")
    expect(card(page, export)).to_have_count(1)  # routed nowhere: everyone's and hers
    expect(card(page, payments)).to_have_count(0)  # Backend's
    page.wait_for_timeout(500)  # the cards' arrival animation
    page.screenshot(path=SCREENSHOTS / "inbox-teams.png", full_page=True)

    page.select_option("select[name=scope]", "everyone")
    expect(card(page, payments)).to_contain_text("Backend")
