"""Reviewer pages: sign-in, tenancy, answering once, claiming, expired questions, no N+1."""

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus
from supportdesk.durable.models import RunStatus
from tests.conftest import make_reviewer

pytestmark = [pytest.mark.django_db(transaction=True)]

PAGES = ["/inbox/", "/inbox/history/", "/tickets/"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", [*PAGES, "/tickets/1/"])
def test_anonymous_requests_go_to_the_login_page(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_signing_in_through_the_form_opens_the_inbox(ann):
    client = Client()
    response = client.post("/accounts/login/", {"username": "ann", "password": "pw",
                                                "next": "/inbox/"}, follow=True)  # fmt: skip
    assert response.redirect_chain[-1][0] == "/inbox/"
    assert "Ann Lee · Acme Inc." in response.content.decode()
    bad = Client().post("/accounts/login/", {"username": "ann", "password": "nope"})
    assert "didn't match" in bad.content.decode()


def test_a_user_who_is_no_reviewer_is_told_so(organization, django_user_model):
    user = django_user_model.objects.create_user("eve", password="pw")
    response = signed_in(user).get("/inbox/")
    assert response.status_code == 403
    assert "not a reviewer" in response.content.decode()


def test_inbox_lists_pending_questions_of_my_organization_only(ann, carol, ask, organization,
                                                                other_organization):  # fmt: skip
    mine = ask(organization, title="Checkout crashes")
    theirs = ask(other_organization, title="Globex dashboard is down")
    page = signed_in(ann).get("/inbox/").content.decode()
    assert "Checkout crashes" in page and mine.question in page
    assert "Technical Support" in page and "left" in page
    assert "Globex dashboard is down" not in page and str(theirs.pk) not in page


def test_cross_organization_urls_answer_404(ann, carol, ask, organization, other_organization):
    theirs = ask(other_organization)
    client = signed_in(ann)
    assert client.get(f"/questions/{theirs.pk}/").status_code == 404
    assert client.get(f"/tickets/{theirs.ticket_id}/").status_code == 404
    assert client.post(f"/questions/{theirs.pk}/answer", {"answer": "x"}).status_code == 404
    assert client.post(f"/questions/{theirs.pk}/claim").status_code == 404
    assert Question.objects.get(pk=theirs.pk).status == QuestionStatus.PENDING


def test_answering_resumes_the_run_and_a_second_answer_sees_who_answered(
    ann, bob, ask, organization, drain
):
    question = ask(organization)
    response = signed_in(ann).post(f"/questions/{question.pk}/answer",
                                   {"answer": "Roll back to 2.4.0."})  # fmt: skip
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    drain()
    question.refresh_from_db()
    assert (question.answered_by, question.answered_by_user) == ("Ann Lee", ann)
    assert question.run.status == RunStatus.COMPLETED

    late = signed_in(bob).post(f"/questions/{question.pk}/answer", {"answer": "Upgrade."})
    assert late.status_code == 409
    assert "already answered by Ann Lee at" in late.content.decode()
    question.refresh_from_db()
    assert question.answer == "Roll back to 2.4.0."


def test_a_blank_answer_is_refused_with_a_message(ann, ask, organization):
    question = ask(organization)
    response = signed_in(ann).post(f"/questions/{question.pk}/answer", {"answer": "  "})
    assert response.status_code == 400
    assert "answer must not be blank" in response.content.decode()
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_an_expired_question_says_so_and_cannot_be_answered(ann, ask, organization):
    question = ask(organization)
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now())
    client = signed_in(ann)
    assert "can no longer be answered" in client.get(f"/questions/{question.pk}/").content.decode()
    response = client.post(f"/questions/{question.pk}/answer", {"answer": "late"})
    assert response.status_code == 409 and "expired at" in response.content.decode()
    assert Question.objects.get(pk=question.pk).answer == ""


def test_claim_and_release(ann, bob, ask, organization):
    question = ask(organization)
    signed_in(ann).post(f"/questions/{question.pk}/claim")
    question.refresh_from_db()
    assert question.claimed_by == ann
    assert "Claimed by Ann Lee" in signed_in(bob).get("/inbox/").content.decode()
    signed_in(bob).post(f"/questions/{question.pk}/claim")
    assert Question.objects.get(pk=question.pk).claimed_by == ann  # bob can't take it
    mine = signed_in(ann).get("/inbox/?claim=mine").content.decode()
    assert str(question.pk) in mine
    assert str(question.pk) not in signed_in(ann).get("/inbox/?claim=unclaimed").content.decode()
    signed_in(ann).post(f"/questions/{question.pk}/release")
    assert Question.objects.get(pk=question.pk).claimed_by is None


def test_history_shows_who_answered_what_and_when(ann, ask, organization):
    question = ask(organization)
    services.question_answer(question=question, answered_by="Ann Lee", answer="Roll back.",
                             user=ann)  # fmt: skip
    page = signed_in(ann).get("/inbox/history/").content.decode()
    assert "Roll back." in page and "Ann Lee" in page and "Answered" in page


def test_ticket_page_shows_replies_and_the_run_timeline(ann, ask, organization, drain):
    question = ask(organization)
    services.question_answer(question=question, answered_by="Ann Lee", answer="Known bug.")
    drain()
    page = signed_in(ann).get(f"/tickets/{question.ticket_id}/").content.decode()
    assert "Our engineering team says: Known bug." in page  # the reply
    for shown in ["get_ticket_details", "Supervisor.route", "search_latest_release_notes",
                  "developer.response", "Got a developer&#x27;s answer.",
                  "in / ", "tokens", "attempt"]:  # fmt: skip
        assert shown in page, shown
    assert "app/support." not in page  # the events' internal names stay out of reviewers' pages


def test_ticket_list_runs_a_fixed_number_of_queries(ann, organization, django_assert_num_queries):
    client = signed_in(ann)
    client.get("/tickets/")
    for n in range(5):
        services.ticket_create(organization=organization, title=f"ticket {n}")
    with django_assert_num_queries(5):  # session, user, reviewer, the pager's count, tickets
        page = client.get("/tickets/").content.decode()
    assert page.count('href="/tickets/') == 1 + 5  # the nav's link and one per ticket


def test_unknown_filter_values_fall_back_to_defaults(ann, organization):
    response = signed_in(ann).get("/inbox/?priority=<x>&claim=all&sort=random")
    assert response.status_code == 200


def test_reviewer_of_another_org_is_made_with_the_same_username_space(other_organization):
    user = make_reviewer("dave", other_organization)
    assert signed_in(user).get("/inbox/").status_code == 200


NUL_REFUSED = (
    "Your answer was not sent: answer contains a NUL character (\\u0000): remove it and try again."
)


def test_a_nul_character_in_an_answer_is_a_clear_form_error(ann, ask, organization):
    """Through the real form: its page, its CSRF token, the browser's form encoding (%00)."""
    question = ask(organization)
    client = Client(enforce_csrf_checks=True)
    client.force_login(ann)
    page = client.get(f"/questions/{question.pk}/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = client.post(
        f"/questions/{question.pk}/answer", "answer=Restart%00+it&csrfmiddlewaretoken=" + token,
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 400
    text = response.content.decode()
    assert NUL_REFUSED in text
    assert ">Restart\ufffd it</textarea>" in text  # what was typed, the NUL shown where it was
    question.refresh_from_db()
    assert question.status == QuestionStatus.PENDING and question.answer == ""
    assert question.run.status == RunStatus.WAITING


@pytest.mark.slow
def test_a_nul_character_in_an_answer_is_a_400_under_daphne(live_app, ann, ask, organization):
    question = ask(organization)
    app = live_app()
    client = Client()
    client.force_login(ann)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    with httpx.Client(base_url=app.url, cookies=cookies, timeout=10) as browser:
        browser.get(f"/questions/{question.pk}/")
        response = browser.post(
            f"/questions/{question.pk}/answer",
            data={"answer": "Restart\x00 it", "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        )
    assert response.status_code == 400 and NUL_REFUSED in response.text
    assert "Traceback" not in app.output()
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_a_reviewer_acts_on_a_ticket_from_its_page(organization, ann, drain):
    """Close, reopen, retry, reply by hand, enter the customer's message: each through the same
    service as every other door, recorded as this reviewer's, confirmed in the page first."""
    from django.test import Client

    from supportdesk.desk.models import Ticket, TicketStatus

    ticket = services.ticket_create(organization=organization, title="How do I export to CSV?")
    drain()
    client = Client()
    client.force_login(ann)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-confirm="Close ticket #' in page and "Customer Support replied" in page
    closed = client.post(f"/tickets/{ticket.pk}/close", follow=True)
    assert f"Ticket #{ticket.pk} closed" in closed.content.decode()
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.status, ticket.status_reason) == (
        TicketStatus.CLOSED, "closed by Ann Lee (the inbox)"
    )  # fmt: skip
    again = client.post(f"/tickets/{ticket.pk}/close", follow=True).content.decode()
    assert "is already closed" in again  # refused in words, nothing changed
    client.post(f"/tickets/{ticket.pk}/reopen")
    drain()
    client.post(f"/tickets/{ticket.pk}/reply", {"body": "I called you back."})
    client.post(f"/tickets/{ticket.pk}/message", {"body": "Thanks, it works."})
    drain()
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.replies.filter(written_by=ann, body="I called you back.").exists()
    assert ticket.messages.get().body == "Thanks, it works." and ticket.runs.count() == 3
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    for action in ("closed by Ann Lee", "reopened by Ann Lee", "replied by hand by Ann Lee",
                   "customer message by Ann Lee"):  # fmt: skip
        assert action in page
    refused = client.post(f"/tickets/{ticket.pk}/retry", follow=True)
    assert "has no failed run to retry" in refused.content.decode()


def test_an_account_that_is_no_reviewer_can_sign_out(organization, django_user_model):
    user = django_user_model.objects.create_user("eve", password="pw")
    client = signed_in(user)
    page = client.get("/inbox/").content.decode()
    assert 'action="/accounts/logout/"' in page and ">Sign out</button>" in page
    client.post("/accounts/logout/")
    assert client.get("/inbox/")["Location"].startswith("/accounts/login/")


def test_every_page_has_a_skip_link_an_icon_and_an_alerting_login_error(ann):
    page = signed_in(ann).get("/inbox/").content.decode()
    assert '<a class="skip-link" href="#main">' in page and '<main class="page" id="main"' in page
    assert 'rel="icon" href="/static/favicon.svg"' in page
    bad = Client().post("/accounts/login/", {"username": "ann", "password": "nope"})
    assert '<div class="flash flash-error" role="alert">' in bad.content.decode()
