"""The inbox list in a real browser, as a reviewer works through a day: nothing overflows whatever
the content, the empty state and the tab title follow the list, the keyboard triages, the compact
list previews, and an incident's questions show as one card."""

import re

import pytest
from playwright.sync_api import expect

from supportdesk.desk import services
from supportdesk.desk.models import Channel, Question, QuestionStatus
from tests.conftest import wait_until
from tests.inbox.test_browser import SCREENSHOTS, card, open_inbox

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]

LONG_URL = "https://example.com/" + "a-long-path-segment-" * 12


@pytest.fixture
def app(live_app, organization):
    return live_app({"ANTHROPIC_API_KEY": ""})


def asked(organization, title: str, **fields) -> Question:
    ticket = services.ticket_create(organization=organization, title=title, priority="critical",
                                    **fields)  # fmt: skip
    return wait_until(lambda: Question.objects.filter(ticket=ticket).first())


def synced(page):
    """The page as the server's socket last drew it: its first list has arrived over the socket
    (which redraws every card) and the animations of its cards are over."""
    page.wait_for_selector("body[data-synced]")
    page.wait_for_timeout(400)
    return page


def overflow(page) -> int:
    """How many pixels the page is wider than its viewport (0: no horizontal scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [1280, 375])
def test_nothing_overflows_horizontally_whatever_the_content(browser, app, organization, ann,
                                                             width):  # fmt: skip
    question = asked(
        organization,
        f"Crash when opening {LONG_URL}",
        body=f"Steps: open {LONG_URL} then {'x' * 600}",
        customer="z" * 190 + "@ex.com",
    )
    page = open_inbox(browser, app, ann)
    page.set_viewport_size({"width": width, "height": 900})
    expect(card(page, question)).to_be_visible()
    pages = ["/inbox/", f"/questions/{question.pk}/", f"/tickets/{question.ticket_id}/",
             "/tickets/", "/inbox/history/"]  # fmt: skip
    for path in pages:
        page.goto(app.url + path)
        page.wait_for_load_state("networkidle")
        assert overflow(page) <= 0, f"{path} is {overflow(page)} px too wide at {width} px"
    page.goto(app.url + "/inbox/")
    page.get_by_role("button", name="Compact list").click()
    assert overflow(page) <= 0, f"the compact list is too wide at {width} px"
    page.get_by_role("button", name="Compact list").click()  # as it was, for the other tests
    if width == 375:
        page.wait_for_timeout(400)  # the cards' arrival animation
        page.screenshot(path=SCREENSHOTS / "inbox-mobile.png", full_page=True)
    # The answer form stays within reach: on the page, beside nothing that pushes it away.
    page.goto(f"{app.url}/questions/{question.pk}/")
    box = page.locator("#answer").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width


def test_the_empty_state_and_the_tab_title_follow_the_list(browser, app, organization, ann):
    page = open_inbox(browser, app, ann)
    empty = page.locator(".empty-state")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("Nothing waiting")
    expect(page).to_have_title("Inbox · supportdesk")

    first = asked(organization, "Checkout crashes on submit")
    expect(card(page, first)).to_be_visible()
    expect(empty).to_be_hidden()
    expect(page).to_have_title("(1) Inbox · supportdesk")
    second = asked(organization, "Password reset emails never arrive")
    expect(card(page, second)).to_be_visible()
    expect(page).to_have_title("(2) Inbox · supportdesk")

    for question in (first, second):
        services.question_answer(question=question, answered_by="Bob Ray", answer="Known.",
                                 channel=Channel.API)  # fmt: skip
    expect(page.locator("#question-list > .card")).to_have_count(0)
    expect(empty).to_be_visible()
    expect(page).to_have_title("Inbox · supportdesk")

    page.goto(app.url + "/inbox/?priority=low")  # filtered: says so, and how to clear it
    expect(empty).to_contain_text("Nothing pending matches these filters")


def test_keyboard_triage(browser, app, organization, ann):
    older = asked(organization, "Checkout crashes on submit")
    newer = asked(organization, "Password reset emails never arrive")
    page = synced(open_inbox(browser, app, ann, "/inbox/?sort=newest"))
    expect(page.locator("#question-list > .card")).to_have_count(2)

    page.keyboard.press("j")
    expect(card(page, newer)).to_be_focused()
    page.keyboard.press("j")
    expect(card(page, older)).to_be_focused()
    page.keyboard.press("j")  # the last one stays selected
    expect(card(page, older)).to_be_focused()
    page.keyboard.press("k")
    expect(card(page, newer)).to_be_focused()

    page.keyboard.press("c")  # claim: the card says so as the push arrives
    expect(page.locator("#inbox-notice")).to_contain_text(
        f"Claimed the request on ticket #{newer.ticket_id}"
    )
    expect(card(page, newer).locator(".claim")).to_have_text("Claimed by you")
    assert Question.objects.get(pk=newer.pk).claimed_by == ann

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Next / previous request")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    card(page, older).focus()
    expect(card(page, older)).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/questions/{older.pk}/$"))
    page.locator("#answer").fill("Known bug in 2.4.1; 2.4.2 ships tonight.")
    page.locator("#answer").press("Control+Enter")
    page.wait_for_url(re.compile(r"/inbox/$"))
    assert Question.objects.get(pk=older.pk).status == QuestionStatus.ANSWERED


def test_the_compact_list_previews_the_selected_request(browser, app, organization, ann, bob):
    questions = [asked(organization, title) for title in (
        "Checkout crashes on submit", "Password reset emails never arrive",
        "CSV export times out for large accounts", "Dark mode resets after every update",
    )]  # fmt: skip
    services.question_claim(question=questions[1], user=bob)
    page = synced(open_inbox(browser, app, ann, "/inbox/?sort=newest"))
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.locator("#question-list > .card")).to_have_count(4)
    full_height = card(page, questions[0]).bounding_box()["height"]

    page.get_by_role("button", name="Compact list").click()
    expect(page.get_by_role("button", name="Compact list")).to_have_attribute(
        "aria-pressed", "true"
    )
    row_height = card(page, questions[0]).bounding_box()["height"]
    assert row_height < full_height / 2.5, (row_height, full_height)
    expect(card(page, questions[0]).locator(".question-text")).to_be_hidden()

    page.keyboard.press("j")  # the newest, shown in full beside the list
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Dark mode resets after every update")
    expect(preview.locator(".question-text")).to_be_visible()
    page.keyboard.press("j")
    expect(preview).to_contain_text("CSV export times out")
    page.screenshot(path=SCREENSHOTS / "inbox-compact.png")

    page.reload()  # the choice is remembered
    expect(page.get_by_role("button", name="Compact list")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Compact list").click()
    expect(preview).to_be_hidden()


def test_an_incidents_questions_show_as_one_card_answered_at_once(browser, app, organization,
                                                                  ann):  # fmt: skip
    titles = ["The iOS 17 app crashes on launch", "App crashes on launch since iOS 17",
              "iOS 17: the app crashes right after launch"]  # fmt: skip
    questions = [asked(organization, title) for title in titles]
    grouped = wait_until(
        lambda: (
            len({Question.objects.get(pk=q.pk).group_id for q in questions} - {None}) == 1
            and Question.objects.get(pk=questions[0].pk)
        )
    )
    assert grouped.group_id is not None
    other = asked(organization, "Invoices show the wrong VAT rate")

    page = open_inbox(browser, app, ann)
    heads = page.locator("#question-list > .card.group-head")
    expect(heads).to_have_count(1)
    head = heads.first
    expect(head.locator(".group-banner")).to_have_text("incident 3 tickets ask:")
    expect(page.locator("#question-list > .card:visible")).to_have_count(2)  # the incident, VAT
    expect(card(page, other)).to_be_visible()
    head.get_by_text("Its 3 tickets").click()
    for question in questions:
        expect(head.locator(f'.group-members a[href="/questions/{question.pk}/"]')).to_be_visible()
    page.wait_for_timeout(400)  # the cards' arrival animation
    head.screenshot(path=SCREENSHOTS / "incident.png")

    head.get_by_role("link", name=re.compile("Answer the 3 tickets")).click()
    page.wait_for_url(re.compile(r"/questions/.+/#incident-heading$"))
    page.fill("#group-answer", "Known iOS 17 crash; 2.4.2 fixes it tonight.")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Answer all 3").click()
    wait_until(lambda: all(Question.objects.get(pk=q.pk).status == QuestionStatus.ANSWERED
                           for q in questions))  # fmt: skip
    page.goto(app.url + "/inbox/")
    expect(page.locator("#question-list > .card")).to_have_count(1)
    expect(card(page, other)).to_be_visible()
