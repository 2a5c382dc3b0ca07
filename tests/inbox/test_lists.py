"""Long lists for reviewers: the inbox's first page with exact counts and "show more", tickets and
history paged and searchable; bad paging or search input never breaks a page."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus, Ticket
from tests.inbox.test_filters import open_question
from tests.inbox.test_views import signed_in

pytestmark = [pytest.mark.django_db(transaction=True)]

CARD = re.compile(r'<article id="question-([0-9a-f-]{36})"')
ROW = re.compile(r'<td><a href="/tickets/(\d+)/">')


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr("supportdesk.desk.selectors.INBOX_PAGE_SIZE", 3)
    monkeypatch.setattr("supportdesk.inbox.views.LIST_PAGE_SIZE", 2)


def test_the_inbox_shows_a_first_page_exact_counts_and_the_rest_on_request(
    ann, organization, small_pages
):
    ids = [open_question(organization, priority="high", expires_in=timedelta(hours=n))
           for n in range(1, 6)]  # fmt: skip
    open_question(organization, priority="low", expires_in=timedelta(hours=1))
    client = signed_in(ann)
    page = client.get("/inbox/?priority=high").content.decode()
    assert CARD.findall(page) == ids[:3]
    assert 'id="pending-count" class="count">6<' in page  # every pending one, whatever the filter
    assert "5 pending for this view · 6 in all" in page
    cursor = re.search(r'data-cursor="([^"]+)"', page).group(1)
    # Without JavaScript, the link opens the next page.
    rest = client.get(f"/inbox/?priority=high&after={cursor}").content.decode()
    assert CARD.findall(rest) == ids[3:] and 'data-cursor="' not in rest
    # A garbled cursor is the first page.
    for junk in ("abc", "9.9.9", "1." + "9" * 40 + ".x", "\x00"):
        response = client.get("/inbox/", {"priority": "high", "after": junk})
        assert response.status_code == 200
        assert CARD.findall(response.content.decode()) == ids[:3]


def ticket_with_question(organization, title, *, question="", customer="", body=""):
    ticket = services.ticket_create(organization=organization, title=title, priority="low",
                                    customer=customer, body=body)  # fmt: skip
    if question:
        services.question_open(
            question_id=uuid.uuid4(), ticket_id=ticket.pk, run_id=ticket.runs.get().pk,
            agent="Technical Support", question=question, context="",
            expires_at=timezone.now() + timedelta(hours=1),
        )  # fmt: skip
    return ticket


def test_tickets_are_paged_and_searched_by_title_body_customer_and_question(
    ann, organization, other_organization, small_pages
):
    crash = ticket_with_question(organization, "App crashes on launch")
    refund = ticket_with_question(organization, "Billing", body="Please refund my invoice")
    acme = ticket_with_question(organization, "Login", customer="Wile Coyote")
    asked = ticket_with_question(organization, "Slow", question="Is the export timing out?")
    ticket_with_question(other_organization, "Crashes for Globex too")
    client = signed_in(ann)

    def listed(query: str) -> list[int]:
        response = client.get(f"/tickets/{query}")
        assert response.status_code == 200
        return [int(pk) for pk in ROW.findall(response.content.decode())]

    newest_first = [asked.pk, acme.pk, refund.pk, crash.pk]
    assert listed("") == newest_first[:2]
    assert listed("?page=2") == newest_first[2:]
    assert "4 in all · page 1 of 2" in client.get("/tickets/").content.decode()
    for garbage in ("abc", "0", "-1", "999", "1e9", "%00"):
        assert len(listed(f"?page={garbage}")) == 2
    assert listed("?q=crashes") == [crash.pk]  # not Globex's
    assert listed("?q=refund") == [refund.pk]
    assert listed("?q=coyote") == [acme.pk]
    assert listed("?q=export") == [asked.pk]
    assert listed("?q=nothing-like-this") == []
    too_long = client.get("/tickets/", {"q": "x" * 201})
    assert too_long.status_code == 400 and "too long" in too_long.content.decode()


def test_history_is_paged_and_searched(ann, organization, small_pages):
    tickets = [ticket_with_question(organization, f"Ticket {n}", question=f"Question {word}?")
               for n, word in enumerate(["alpha", "bravo", "charlie"])]  # fmt: skip
    for question in Question.objects.all():
        services.question_answer(question=question, answered_by="Ann", answer="ok")
    assert not Question.objects.filter(status=QuestionStatus.PENDING).exists()
    client = signed_in(ann)

    def shown(query: str) -> list[int]:
        response = client.get(f"/inbox/history/{query}")
        assert response.status_code == 200
        return [int(pk) for pk in ROW.findall(response.content.decode())]

    assert shown("") == [tickets[2].pk, tickets[1].pk]
    assert shown("?page=2") == [tickets[0].pk]
    assert shown("?page=abc") == shown("")
    assert shown("?q=bravo") == [tickets[1].pk]
    assert shown("?q=Ticket%200") == [tickets[0].pk]  # the ticket's title
    assert client.get("/inbox/history/", {"q": "y" * 500}).status_code == 400
    assert Ticket.objects.count() == 3
