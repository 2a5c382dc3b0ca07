"""Every reviewer page, checked by axe-core in the browser: no serious or critical problems."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from supportdesk.desk import services
from supportdesk.desk.models import Question, RequestKind
from tests.conftest import wait_until
from tests.inbox.accessibility import serious_problems
from tests.inbox.test_browser import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def app(live_app, approving_organization):
    return live_app({"ANTHROPIC_API_KEY": ""})


def browse_as(browser, app, user=None, width=1280):
    # Reduced motion: axe measures colours as they are, not halfway through a card's fade-in.
    context = browser.new_context(viewport={"width": width, "height": 900}, reduced_motion="reduce")
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": app.url}])  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.mark.parametrize("width", [1280, 375])
def test_every_page_passes_axe(browser, app, approving_organization, django_user_model, width):
    from tests.conftest import make_reviewer

    ann = make_reviewer("ann", approving_organization, first_name="Ann", last_name="Lee")
    org = approving_organization
    question_ticket = services.ticket_create(organization=org, title="Checkout crashes",
                                             priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=question_ticket).first())
    # A second ticket's question answered: its reply waits for approval.
    approval_ticket = services.ticket_create(organization=org, title="Refund twice charged",
                                             priority="critical")  # fmt: skip
    answered = wait_until(lambda: Question.objects.filter(ticket=approval_ticket).first())
    services.question_answer(question=answered, answered_by="Dev", answer="Fixed in 2.4.2.")
    approvals = Question.objects.filter(ticket=approval_ticket, kind=RequestKind.APPROVAL)
    approval = wait_until(approvals.first)
    stranger = django_user_model.objects.create_user("eve", password="pw")

    pages = {
        "/accounts/login/": None,
        "/inbox/": ann,
        "/inbox/history/": ann,
        "/tickets/": ann,
        f"/tickets/{question_ticket.pk}/": ann,
        f"/questions/{question.pk}/": ann,
        f"/questions/{approval.pk}/": ann,
        "/inbox/?kind=approval&priority=low": ann,  # the empty state
        "/no-such-page/": ann,
        "/inbox/ ": stranger,  # signed in, but no reviewer
    }
    problems = {}
    for path, user in pages.items():
        page = browse_as(browser, app, user, width)
        page.goto(app.url + path.strip())
        expect(page.locator("main")).to_be_visible()
        found = serious_problems(page)
        if found:
            problems[f"{path.strip()} as {user or 'anonymous'}"] = found
        page.context.close()
    report = "\n".join(f"{where}: {problem}" for where, found in problems.items()
                       for problem in found)  # fmt: skip
    assert not problems, report
