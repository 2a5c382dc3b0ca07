"""A ticket's questions, runs and messages: bounded in GET /api/tickets/{id} (the first 50, with
how many there are in all), every one of them a page at a time at /questions, /runs, /messages."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from supportdesk.api import selectors as api_selectors
from supportdesk.desk import services
from supportdesk.desk.models import TicketMessage

pytestmark = pytest.mark.django_db(transaction=True)


def test_nested_lists_are_bounded_and_paged(api, other_api, organization, monkeypatch):
    monkeypatch.setattr(api_selectors, "NESTED_LIMIT", 2)
    ticket = services.ticket_create(organization=organization, title="Busy", priority="low")
    run_id = ticket.runs.get().pk
    asked = [
        services.question_open(
            question_id=uuid.uuid4(), ticket_id=ticket.pk, run_id=run_id, agent="Support",
            question=f"Question {n}?", context="", expires_at=timezone.now() + timedelta(hours=1),
        ).pk
        for n in range(3)
    ]  # fmt: skip
    for n in range(5):
        TicketMessage.objects.create(ticket=ticket, body=f"Message {n}", entered_by="me")

    detail = api.get(f"/api/tickets/{ticket.pk}").json()
    assert [q["id"] for q in detail["questions"]] == [str(pk) for pk in asked[::-1][:2]]
    assert detail["questions_count"] == 3
    assert [m["body"] for m in detail["messages"]] == ["Message 0", "Message 1"]
    assert detail["messages_count"] == 5
    assert len(detail["runs"]) == detail["runs_count"] == 1

    page = api.get(f"/api/tickets/{ticket.pk}/messages", {"limit": 2, "offset": 2}).json()
    assert page["count"] == 5 and [m["body"] for m in page["items"]] == ["Message 2", "Message 3"]
    questions = api.get(f"/api/tickets/{ticket.pk}/questions", {"offset": 2}).json()
    assert [q["id"] for q in questions["items"]] == [str(asked[0])]
    runs = api.get(f"/api/tickets/{ticket.pk}/runs").json()
    assert [r["id"] for r in runs["items"]] == [str(run_id)]

    # Bad paging is a 422 naming the field; another organization's ticket is not found.
    assert api.get(f"/api/tickets/{ticket.pk}/messages", {"limit": "abc"}).status_code == 422
    assert api.get(f"/api/tickets/{ticket.pk}/runs", {"offset": -1}).status_code == 422
    assert api.get(f"/api/tickets/{ticket.pk}/runs", {"limit": 10_000}).status_code == 422
    for nested in ("questions", "runs", "messages"):
        assert other_api.get(f"/api/tickets/{ticket.pk}/{nested}").status_code == 404
