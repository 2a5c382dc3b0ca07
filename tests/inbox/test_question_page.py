"""The question page as a reviewer uses it: refused answers keep their text, its action URLs never
turn into dead pages, it says who is on the question (you, or someone else, with a warning), it
shows the conversation for people, and it follows the question live over its own WebSocket."""

import re

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from supportdesk.desk import services
from supportdesk.desk.models import Question, QuestionStatus
from tests.inbox.test_consumers import connect, run, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("action", ["answer", "decide", "assign", "claim", "release"])
def test_opening_an_action_url_leads_back_to_the_question(ann, ask, organization, action):
    """A reload after a refused answer, or a pasted link, is a GET: it gets the page, not a 405."""
    question = ask(organization)
    client = signed_in(ann)
    response = client.get(f"/questions/{question.pk}/{action}")
    assert response.status_code == 302
    assert response["Location"] == f"/questions/{question.pk}/"
    assert client.put(f"/questions/{question.pk}/{action}").status_code == 405
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_a_refused_answer_keeps_its_text_and_the_page_moves_back_to_its_url(
    ann, ask, organization
):
    question = ask(organization)
    too_long = "Ship the fix. " * 2_000  # 28,000 characters; the limit is 20,000
    response = signed_in(ann).post(f"/questions/{question.pk}/answer", {"answer": too_long})
    page = response.content.decode()
    assert response.status_code == 400
    assert "answer is 27,999 characters long; the limit is 20,000" in page
    assert "What you wrote is kept below." in page
    assert too_long.strip() in page  # in the textarea, to shorten and send again
    assert 'data-limit="20000"' in page and "of 20000 characters" in page  # the counter's start
    assert f'data-canonical-url="/questions/{question.pk}/"' in page  # app.js puts the URL back
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_losing_the_race_keeps_the_text_but_nothing_can_send_it(ann, bob, ask, organization):
    question = ask(organization)
    services.question_answer(question=question, answered_by="Bob Ray", answer="First!",
                             user=bob)  # fmt: skip
    response = signed_in(ann).post(f"/questions/{question.pk}/answer", {"answer": "Mine, later"})
    page = response.content.decode()
    assert response.status_code == 409
    assert "already answered by Bob Ray" in page and "Mine, later" in page
    assert 'data-open="false"' in page
    submit = re.search(r'<button class="primary" type="submit"[^>]*>Send answer', page).group(0)
    assert "disabled" in submit


def test_the_page_says_you_for_your_own_claim_and_warns_of_someone_elses(
    ann, bob, ask, organization
):
    question = ask(organization)
    services.question_claim(question=question, user=ann)
    mine = signed_in(ann).get(f"/questions/{question.pk}/").content.decode()
    assert "Claimed by you" in mine and "may be writing" not in mine and ">Release<" in mine
    theirs = signed_in(bob).get(f"/questions/{question.pk}/").content.decode()
    assert "Claimed by Ann Lee" in theirs
    assert "Ann Lee claimed this" in theirs and "the first one is the one the agent gets" in theirs
    assert ">Claim<" not in theirs and ">Release<" not in theirs
    assert 'name="answer"' in theirs  # advisory: Bob can still answer


def test_claiming_from_the_page_redraws_only_its_state(ann, bob, ask, organization):
    """htmx swaps the state block alone, so a half-written answer stays where it is."""
    question = ask(organization)
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "question-state"}
    response = signed_in(ann).post(f"/questions/{question.pk}/claim", **htmx)
    fragment = response.content.decode().strip()
    assert response.status_code == 200
    assert fragment.startswith('<div id="question-state"') and "Claimed by you" in fragment
    assert "<html" not in fragment and 'name="answer"' not in fragment
    lost = signed_in(bob).post(f"/questions/{question.pk}/claim", **htmx)
    assert "Already claimed by Ann Lee." in lost.content.decode()
    assert Question.objects.get(pk=question.pk).claimed_by == ann


def test_the_request_comes_first_and_the_conversation_reads_as_words(ann, ask, organization):
    question = ask(organization)
    page = signed_in(ann).get(f"/questions/{question.pk}/").content.decode()
    # The question and its form before the conversation: first at 375 px, first for a reader.
    assert page.index('name="answer"') < page.index("What happened so far")
    # Tool calls are one line each, their JSON opened on demand.
    conversation = page[page.index('<ol class="conversation">'):]
    assert "<details class=\"tool-call\"><summary>Called <code>" in conversation
    assert "Asked a developer: <q>" in conversation
    assert "Waiting for a developer&#x27;s answer until" in conversation
    assert "app/support." not in page and "developer-response" not in page


def test_past_its_deadline_a_question_leaves_the_inbox_at_once(ann, ask, organization):
    """It waits out the grace period for its run's timeout, but no answer is taken: no card."""
    question = ask(organization, title="Deadline passed")
    Question.objects.filter(pk=question.pk).update(expires_at=timezone.now())
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING
    inbox = signed_in(ann).get("/inbox/").content.decode()
    assert f"question-{question.pk}" not in inbox
    page = signed_in(ann).get(f"/questions/{question.pk}/").content.decode()
    assert "can no longer be answered" in page and 'name="answer"' not in page


def test_the_question_socket_follows_answers_and_claims(ann, bob, carol, ask, organization):
    question = ask(organization)
    ann_cookie, carol_cookie = session_cookie(ann), session_cookie(carol)

    async def scenario():
        foreign = connect(f"/ws/questions/{question.pk}/", carol_cookie)
        assert not (await foreign.connect())[0]
        page = connect(f"/ws/questions/{question.pk}/", ann_cookie)
        assert (await page.connect())[0]
        first = await page.receive_from()  # the state as of now: the page converges on connect
        assert 'id="question-state"' in first and 'hx-swap-oob="true"' in first
        assert "Unclaimed" in first and 'data-open="true"' in first

        await database_sync_to_async(services.question_claim)(question=question, user=bob)
        claimed = await page.receive_from(timeout=5)
        assert "Claimed by Bob Ray" in claimed and "Bob Ray claimed this" in claimed

        await database_sync_to_async(services.question_answer)(
            question=question, answered_by="Bob Ray", answer="Ship 2.4.2", user=bob
        )
        answered = await page.receive_from(timeout=5)
        assert "Answered by Bob Ray" in answered and "Ship 2.4.2" in answered
        assert 'data-open="false"' in answered
        await page.disconnect()

    run(scenario)


def test_history_says_when_a_question_closed_not_when_it_would_have_expired(
    ann, ask, organization
):
    question = ask(organization)
    services.ticket_close(ticket=question.ticket, actor="Ann Lee")
    cancelled = Question.objects.get(pk=question.pk)
    assert cancelled.status == QuestionStatus.CANCELLED and cancelled.closed_at is not None
    assert cancelled.expires_at > timezone.now()
    page = signed_in(ann).get("/inbox/history/").content.decode()
    assert cancelled.closed_at.strftime("%Y-%m-%d %H:%M") in page
    assert cancelled.expires_at.strftime("%Y-%m-%d %H:%M") not in page
