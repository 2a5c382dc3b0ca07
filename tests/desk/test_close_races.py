"""A reviewer answers as someone closes the ticket: whatever wins, nobody gets an error they
can't act on, the close is applied, and the run never replies to a closed ticket."""

import pytest

from supportdesk.desk import services
from supportdesk.desk.errors import Conflict
from supportdesk.desk.models import QuestionStatus, TicketStatus
from supportdesk.durable.models import RunStatus
from tests.conftest import in_threads

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_answering_and_closing_at_once(organization, drain):
    tickets = [
        services.ticket_create(organization=organization, title=f"Crash {n}", priority="critical")
        for n in range(25)
    ]
    drain()
    for ticket in tickets:
        question = ticket.questions.get()
        errors = in_threads(
            lambda q=question: services.question_answer(
                question=q, answered_by="Ann", answer="Roll back."
            ),
            lambda t=ticket: services.ticket_close(ticket=t),
        )
        # The answer may lose to the close: then it is told so, in words.
        assert all(isinstance(e, Conflict) and "was cancelled" in e.message for e in errors)
    drain()
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.CLOSED
        assert ticket.runs.get().status == RunStatus.CANCELLED
        assert not ticket.replies.exists()
        assert ticket.questions.get().status in (QuestionStatus.ANSWERED, QuestionStatus.CANCELLED)
