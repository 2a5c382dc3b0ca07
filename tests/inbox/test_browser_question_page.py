"""The question page in a real browser: a refused answer keeps what the reviewer typed, through a
reload too; the page follows another reviewer's answer live, keeping the text; Ctrl+Enter sends."""

import re

import pytest
from playwright.sync_api import expect

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus
from tests.conftest import wait_until
from tests.inbox.test_browser import open_inbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def app(live_app, organization):
    return live_app({"ANTHROPIC_API_KEY": ""})


def asked(organization, title="Checkout crashes on submit") -> Question:
    ticket = services.ticket_create(organization=organization, title=title, priority="critical")
    return wait_until(lambda: Question.objects.filter(ticket=ticket).first())


def open_question(browser, app, user, question):
    page = open_inbox(browser, app, user)
    page.goto(f"{app.url}/questions/{question.pk}/")
    expect(page.locator("#question-state")).to_have_attribute("data-open", "true")
    return page


def test_a_refused_answer_keeps_its_text_through_a_reload(browser, app, organization, ann):
    question = asked(organization)
    page = open_question(browser, app, ann, question)
    counter = page.locator("#answer-count")
    expect(counter).to_have_text("0 of 20,000 characters")
    too_long = "The fix ships in 2.4.2. " * 900  # 21,600 characters
    page.fill("#answer", too_long)
    expect(counter).to_have_text(re.compile(r"1,59\d characters over the limit of 20,000"))
    page.get_by_role("button", name="Send answer and resume the run").click()

    expect(page.get_by_role("alert")).to_contain_text("the limit is 20,000")
    assert page.input_value("#answer") == too_long  # (compared here: a failure prints no 21 kB)
    assert page.url.endswith(f"/questions/{question.pk}/")  # not the POST's /answer

    page.reload()  # a GET of the question: no 405, no resubmission, and the draft comes back
    expect(page.locator("h2#request-heading")).to_contain_text("asks")
    assert page.input_value("#answer") == too_long
    page.fill("#answer", "The fix ships in 2.4.2 tonight.")
    page.locator("#answer").press("Control+Enter")  # sends, like the button
    page.wait_for_url(re.compile(r"/inbox/$"))
    answered = Question.objects.get(pk=question.pk)
    assert answered.status == QuestionStatus.ANSWERED
    assert answered.answer == "The fix ships in 2.4.2 tonight."


def test_the_page_follows_another_reviewers_claim_and_answer_and_keeps_the_text(
    browser, app, organization, ann, bob
):
    question = asked(organization)
    page = open_question(browser, app, ann, question)
    page.fill("#answer", "I think it's the payment form")

    bobs = open_question(browser, app, bob, question)
    bobs.get_by_role("button", name="Claim").click()
    expect(bobs.locator("#question-state")).to_contain_text("Claimed by you")
    expect(page.locator("#question-state")).to_contain_text("Bob Ray claimed this")
    bobs.fill("#answer", "Known bug; 2.4.2 tonight.")
    bobs.get_by_role("button", name="Send answer and resume the run").click()
    bobs.wait_for_url(re.compile(r"/inbox/$"))

    state = page.locator("#question-state")
    expect(state).to_contain_text("Answered by Bob Ray")
    expect(state).to_contain_text("Known bug; 2.4.2 tonight.")
    expect(page.get_by_role("button", name="Send answer and resume the run")).to_be_disabled()
    expect(page.locator("#answer")).to_have_value("I think it's the payment form")
