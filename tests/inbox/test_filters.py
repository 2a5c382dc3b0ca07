"""The inbox's order (most urgent first, or newest first) and its priority filter, on the page and
on the WebSocket alike."""

import re
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.utils import timezone

from supportdesk.desk import services
from supportdesk.desk.models import Question
from supportdesk.inbox.live import _publisher
from tests.inbox.test_consumers import connect, no_push, receive_push, session_cookie
from tests.inbox.test_views import signed_in

pytestmark = [pytest.mark.django_db(transaction=True)]

CARD = re.compile(r'<article id="question-([0-9a-f-]{36})"')


def open_question(organization, *, priority: str, expires_in: timedelta) -> str:
    """A question on a ticket of `priority`, opened through the desk's service as `ask_developer`
    opens it (the ticket's run stays queued: no worker runs in these tests)."""
    ticket = services.ticket_create(organization=organization, title=f"A {priority} ticket",
                                    priority=priority)  # fmt: skip
    question = services.question_open(
        question_id=uuid.uuid4(), ticket_id=ticket.pk, run_id=ticket.runs.get().pk,
        agent="Technical Support", question=f"What about this {priority} ticket?", context="",
        expires_at=timezone.now() + expires_in,
    )  # fmt: skip
    return str(question.pk)


@pytest.fixture
def questions(organization) -> dict[str, str]:
    """Five pending questions, opened in this order."""
    hours = lambda n: timedelta(hours=n)  # noqa: E731
    opened = {
        "medium, 2 h left": open_question(organization, priority="medium", expires_in=hours(2)),
        "critical, 3 h left": open_question(organization, priority="critical", expires_in=hours(3)),
        "low, 1 h left": open_question(organization, priority="low", expires_in=hours(1)),
        "critical, 1 h left": open_question(organization, priority="critical", expires_in=hours(1)),
        "medium, 30 min left": open_question(organization, priority="medium",
                                             expires_in=timedelta(minutes=30)),
    }  # fmt: skip
    # Their pushes are sent by a background thread: all out before a test's socket connects, or
    # a loaded machine delivers one late to it (a card it already shows, replaced).
    _publisher.flush()
    return opened


def shown(html: str, questions: dict[str, str]) -> list[str]:
    names = {pk: name for name, pk in questions.items()}
    return [names[pk] for pk in CARD.findall(html)]


def test_the_inbox_shows_the_most_urgent_first_or_the_newest_first(ann, questions):
    client = signed_in(ann)
    most_urgent_first = [
        "critical, 1 h left", "critical, 3 h left",  # by priority, then the nearest deadline
        "medium, 30 min left", "medium, 2 h left",
        "low, 1 h left",
    ]  # fmt: skip
    assert shown(client.get("/inbox/").content.decode(), questions) == most_urgent_first
    assert shown(client.get("/inbox/?sort=urgent").content.decode(), questions) == (
        most_urgent_first
    )
    assert shown(client.get("/inbox/?sort=newest").content.decode(), questions) == [
        "medium, 30 min left", "critical, 1 h left", "low, 1 h left", "critical, 3 h left",
        "medium, 2 h left",
    ]  # fmt: skip


def test_the_priority_filter_shows_only_that_priority(ann, questions):
    client = signed_in(ann)
    page = client.get("/inbox/?priority=medium").content.decode()
    assert shown(page, questions) == ["medium, 30 min left", "medium, 2 h left"]
    page = client.get("/inbox/?priority=critical&sort=newest").content.decode()
    assert shown(page, questions) == ["critical, 1 h left", "critical, 3 h left"]
    assert shown(client.get("/inbox/?priority=low").content.decode(), questions) == [
        "low, 1 h left"
    ]


def test_a_filtered_live_inbox_gets_its_list_and_only_matching_pushes(ann, organization,
                                                                       questions):  # fmt: skip
    cookie = session_cookie(ann)

    async def scenario():
        inbox = connect("/ws/inbox/?priority=critical&sort=newest", cookie)
        assert (await inbox.connect())[0]
        assert shown(await inbox.receive_from(), questions) == [
            "critical, 1 h left", "critical, 3 h left",
        ]  # fmt: skip
        # A new low-priority question is not for this inbox; a new critical one is.
        low = await database_sync_to_async(open_question)(
            organization, priority="low", expires_in=timedelta(hours=1)
        )
        assert await no_push(inbox)
        critical = await database_sync_to_async(open_question)(
            organization, priority="critical", expires_in=timedelta(hours=1)
        )
        pushed = await receive_push(inbox)
        assert pushed.startswith('<div hx-swap-oob="afterbegin:#question-list">')
        assert CARD.findall(pushed) == [critical] and low not in pushed
        await inbox.disconnect()

    async_to_sync(scenario)()
    assert Question.objects.filter(status="pending").count() == 5 + 2
