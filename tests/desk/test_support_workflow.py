"""The support workflow on the demo model, driven in-process: questions, answers, timeouts,
closing, missing tickets, and several questions on one ticket."""

import time

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from supportdesk import durable
from supportdesk.desk import services
from supportdesk.desk.errors import Conflict, DeskError
from supportdesk.desk.models import Question, QuestionStatus, TicketStatus
from supportdesk.durable.models import Event, Run, RunStatus, Wait, WaitKind, WaitStatus
from supportdesk.durable.sweeper import sweep

pytestmark = [pytest.mark.django_db(transaction=True)]


def critical_ticket(organization, title="The app crashes on launch"):
    return services.ticket_create(
        organization=organization, title=title, body="Since 2.4.1.", priority="critical",
        customer="dana@example.com",
    )  # fmt: skip


def test_critical_ticket_asks_a_developer_and_the_answer_resumes_the_run(organization, drain):
    ticket = critical_ticket(organization)
    drain()
    run = ticket.runs.get()
    assert run.status == RunStatus.WAITING
    question = Question.objects.get(ticket=ticket)
    assert question.agent == "Technical Support" and question.run_id == run.pk

    services.question_answer(question=question, answered_by="ann", answer="Fixed in 2.4.2.")
    drain()
    run.refresh_from_db()
    ticket.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert run.output["agents"][0] == "Technical Support"
    assert ticket.status == TicketStatus.RESOLVED
    [reply] = ticket.replies.all()
    assert "Our engineering team says: Fixed in 2.4.2." in reply.body
    assert reply.body.startswith("[offline demo model]")


def test_an_answer_resumes_its_run_before_the_inboxes_are_told(organization, drain):
    """After the answer's commit, the event is matched (the run's wait resolved, the run queued)
    before the listeners render cards for every open inbox: the customer waits on the run."""
    from supportdesk.desk import observers

    ticket = critical_ticket(organization)
    drain()
    question = Question.objects.get(ticket=ticket)
    waits_when_told = []

    def listener(question_id):
        if str(question_id) == str(question.pk):
            waits_when_told.append(
                Wait.objects.get(run__tickets=ticket, event_name=services.DEVELOPER_RESPONSE).status
            )

    observers.subscribe(observers.QUESTION_CHANGED, listener)
    try:
        services.question_answer(question=question, answered_by="ann", answer="Fixed in 2.4.2.")
    finally:
        observers.unsubscribe(observers.QUESTION_CHANGED, listener)
    assert waits_when_told == [WaitStatus.RESOLVED]


def test_product_questions_are_answered_from_the_knowledge_base(organization, drain):
    ticket = services.ticket_create(organization=organization, title="How do I export to CSV?")
    drain()
    ticket.refresh_from_db()
    assert ticket.runs.get().output["agents"][0] == "Customer Support"
    assert "Settings → Data → Export" in ticket.replies.get().body
    assert not Question.objects.exists()


def test_a_second_answer_is_refused_with_who_answered_and_when(organization, drain):
    ticket = critical_ticket(organization)
    drain()
    question = Question.objects.get(ticket=ticket)
    services.question_answer(question=question, answered_by="ann", answer="first")
    with pytest.raises(Conflict, match=r"already answered by ann at \d{4}-\d\d-\d\d \d\d:\d\d"):
        services.question_answer(question=question, answered_by="bob", answer="second")
    question.refresh_from_db()
    assert (question.answer, question.answered_by) == ("first", "ann")
    assert Event.objects.filter(name=services.DEVELOPER_RESPONSE).count() == 1
    with pytest.raises(CommandError, match="already answered by ann"):
        call_command("question", "answer", str(question.pk), "third")


def test_an_unanswered_question_expires_and_the_agent_goes_on(organization, drain, settings):
    settings.QUESTION_TIMEOUT, settings.QUESTION_ANSWER_GRACE = 0.3, 0.1
    ticket = critical_ticket(organization)
    drain()
    question = Question.objects.get(ticket=ticket)
    time.sleep(0.45)
    with pytest.raises(Conflict, match="this question expired at"):
        services.question_answer(question=question, answered_by="ann", answer="too late")
    sweep()
    drain()
    question.refresh_from_db()
    run = ticket.runs.get()
    assert question.status == QuestionStatus.EXPIRED
    assert run.status == RunStatus.COMPLETED
    wait = run.steps.get(key="developer.response")
    assert (wait.status, wait.output) == ("completed", None)
    # Told "No developer response provided", the agent still answered the customer.
    assert "we will follow up" in ticket.replies.get().body


def sleep_until(moment) -> None:
    time.sleep(max((moment - timezone.now()).total_seconds(), 0))


def test_an_answer_accepted_at_the_last_moment_reaches_the_run(organization, drain, settings):
    """SUPPORTDESK_QUESTION_ANSWER_GRACE: the run's wait outlives its question, so an answer
    accepted just before the question's deadline still resumes the run with that answer, even
    when the timers fire between the answer's commit and its matching."""
    settings.QUESTION_TIMEOUT, settings.QUESTION_ANSWER_GRACE = 2.0, 1.0
    ticket = critical_ticket(organization)
    drain()
    question = Question.objects.get(ticket=ticket)
    wait = Wait.objects.get(run=question.run, kind=WaitKind.STEP)
    assert wait.expires_at - question.expires_at >= timezone.timedelta(seconds=1.0)

    sleep_until(question.expires_at - timezone.timedelta(seconds=0.15))
    swept = {}

    def timers_fire_past_the_deadline():
        sleep_until(question.expires_at + timezone.timedelta(seconds=0.1))
        swept.update(sweep())

    with transaction.atomic():
        # Registered first, so it runs after the commit and before the answer's event is matched.
        transaction.on_commit(timers_fire_past_the_deadline)
        services.question_answer(question=question, answered_by="ann", answer="Fixed in 2.4.2.")
    assert swept["waits_expired"] == 0  # the question's deadline passed, not the wait's
    drain()
    question.refresh_from_db()
    run = ticket.runs.get()
    assert question.status == QuestionStatus.ANSWERED
    assert Wait.objects.get(pk=wait.pk).status == WaitStatus.RESOLVED
    assert run.status == RunStatus.COMPLETED
    assert run.steps.get(key="developer.response").output["data"]["answer"] == "Fixed in 2.4.2."
    assert "Our engineering team says: Fixed in 2.4.2." in ticket.replies.get().body


def test_an_answer_just_after_the_deadline_is_refused_and_the_run_times_out(
    organization, drain, settings
):
    settings.QUESTION_TIMEOUT, settings.QUESTION_ANSWER_GRACE = 2.0, 1.0
    ticket = critical_ticket(organization)
    drain()
    question = Question.objects.get(ticket=ticket)
    wait = Wait.objects.get(run=question.run, kind=WaitKind.STEP)

    sleep_until(question.expires_at + timezone.timedelta(seconds=0.05))
    with pytest.raises(Conflict, match="this question expired at"):
        services.question_answer(question=question, answered_by="ann", answer="too late")
    assert not Event.objects.filter(name=services.DEVELOPER_RESPONSE).exists()
    sweep()
    drain()
    assert ticket.runs.get().status == RunStatus.WAITING  # the grace: the wait outlives it

    sleep_until(wait.expires_at)
    sweep()
    drain()
    question.refresh_from_db()
    run = ticket.runs.get()
    assert Wait.objects.get(pk=wait.pk).status == WaitStatus.TIMED_OUT
    assert (question.status, question.answer) == (QuestionStatus.EXPIRED, "")
    assert run.status == RunStatus.COMPLETED
    assert run.steps.get(key="developer.response").output is None
    assert "we will follow up" in ticket.replies.get().body


def test_closing_the_ticket_cancels_its_waiting_run(organization, drain):
    ticket = critical_ticket(organization)
    drain()
    services.ticket_close(ticket=ticket)
    drain()
    run = ticket.runs.get()
    assert run.status == RunStatus.CANCELLED
    assert Question.objects.get(ticket=ticket).status == QuestionStatus.CANCELLED
    assert "cancel_on app/support.ticket.closed" in run.transitions.last().reason


def test_a_cancelled_run_cancels_its_open_questions(organization, drain):
    from supportdesk.durable.services import run_cancel

    ticket = critical_ticket(organization)
    drain()
    run_cancel(ticket.runs.get().pk, reason="operator")
    assert Question.objects.get(ticket=ticket).status == QuestionStatus.CANCELLED


def test_a_missing_ticket_fails_the_run_without_retries(organization, drain):
    [event_id] = durable.send_events(
        {"name": services.TICKET_CREATED, "data": {"ticketId": 987654}}
    )
    drain()
    run = Run.objects.get(event__event_id=event_id)
    assert run.status == RunStatus.FAILED
    assert "Ticket not found: no ticket with id 987654" in run.error
    assert run.steps.get(key="get_ticket_details").attempts == 1
    assert not run.transitions.filter(status=RunStatus.RETRYING).exists()


def test_a_second_created_event_for_a_live_ticket_starts_no_second_worker(organization, drain):
    """It started a second, half-hidden run: two identical questions in the inbox, and answering
    the duplicate resolved the ticket while the other question was pending. Now the engine's
    own senders (not only the API's door) get one worker per ticket: the second run is listed
    among the ticket's runs and ends at once, skipped."""
    ticket = critical_ticket(organization)
    [again] = durable.send_events(
        {"name": services.TICKET_CREATED, "data": {"ticketId": ticket.pk}},
        tenant=services.organization_tenant(organization.pk),
    )
    drain()
    duplicate = Run.objects.get(event__event_id=again)
    assert duplicate.status == RunStatus.COMPLETED
    assert duplicate.output["skipped"] == f"ticket {ticket.pk} already has a live run"
    ticket.refresh_from_db()
    assert set(ticket.runs.values_list("pk", flat=True)) == {duplicate.pk, ticket.live_run_id}
    assert Question.objects.filter(ticket=ticket).count() == 1
    assert ticket.status == "waiting" and ticket.live_run_id != duplicate.pk


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": "  "}, "title must not be blank"),
        ({"title": "x" * 301}, "title is 301 characters long; the limit is 300"),
        ({"title": "ok", "priority": "urgent"}, "priority must be one of low, medium, high, crit"),
    ],
)
def test_bad_ticket_input_is_refused_and_nothing_is_stored(organization, kwargs, message):
    with pytest.raises(DeskError, match=message):
        services.ticket_create(organization=organization, **kwargs)
    assert not Run.objects.exists()


def test_a_blank_answer_is_refused(organization, drain):
    critical_ticket(organization)
    drain()
    question = Question.objects.get()
    with pytest.raises(DeskError, match="answer must not be blank"):
        services.question_answer(question=question, answered_by="ann", answer="   ")
    assert Question.objects.get().status == QuestionStatus.PENDING


def test_another_tenants_events_neither_start_its_ticket_nor_answer_its_questions(
    organization, drain
):
    from supportdesk.desk.demo_data import demo_seed

    other = demo_seed(slug="globex", name="Globex")
    ticket = critical_ticket(organization)
    drain()
    question = ticket.questions.get()
    foreign = services.organization_tenant(other.pk)
    durable.send_events(
        [
            {"name": services.TICKET_CREATED, "data": {"ticketId": ticket.pk}},
            {"name": services.DEVELOPER_RESPONSE, "data": {"ticketId": ticket.pk,
             "questionId": str(question.pk), "answer": "forged", "timestamp": "now"}},
        ],
        tenant=foreign,
    )  # fmt: skip
    drain()
    hijack = Run.objects.get(tenant=foreign)
    assert hijack.status == RunStatus.FAILED and "for this organization" in hijack.error
    assert ticket.runs.get().status == RunStatus.WAITING  # the forged answer matched nothing


def test_the_wait_matches_the_ticket_the_run_loaded_not_the_triggers_spelling(organization, drain):
    """A trigger that spelled the id "42" made `ask_developer` wait for "42" while the answer
    carried 42: the answer was lost. (The API refuses such events now; the engine's own senders
    are not trusted to spell ids right either.)"""
    from supportdesk.desk.models import Ticket

    ticket = Ticket.objects.create(
        organization=organization, title="It crashes", priority="critical"
    )
    durable.send_events(
        {"name": services.TICKET_CREATED, "data": {"ticketId": str(ticket.pk)}},
        tenant=services.organization_tenant(organization.pk),
    )
    drain()
    question = ticket.questions.get()
    services.question_answer(question=question, answered_by="ann", answer="Fixed in 2.4.2.")
    drain()
    assert question.run.__class__.objects.get(pk=question.run_id).status == RunStatus.COMPLETED
    assert "Fixed in 2.4.2." in ticket.replies.get().body
