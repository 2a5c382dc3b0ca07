"""Tickets through the API: creating one starts its workflow; listing filters and pages; a ticket's
detail shows its replies, questions and runs."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from supportdesk.desk import services
from supportdesk.desk.models import Ticket
from supportdesk.durable.models import RunStatus
from tests.api.conftest import post_json

pytestmark = pytest.mark.django_db(transaction=True)


def test_creating_a_ticket_starts_its_workflow(api, organization, drain):
    response = post_json(api, "/api/tickets", {
        "title": "App crashes on launch", "body": "Since this morning.", "priority": "critical",
        "customer": "kim@example.com",
    })  # fmt: skip
    assert response.status_code == 201
    created = response.json()
    assert created["title"] == "App crashes on launch"
    assert created["priority"] == "critical" and created["status"] == "open"
    assert created["customer"] == "kim@example.com"
    [run] = created["runs"]
    assert run["function_id"] == "support-agent-workflow" and run["status"] == "queued"
    ticket = Ticket.objects.get(pk=created["id"])
    assert ticket.organization == organization

    drain()  # the critical ticket's run asks a developer and waits
    detail = api.get(f"/api/tickets/{ticket.pk}").json()
    assert detail["status"] == "waiting"
    assert detail["runs"][0]["status"] == RunStatus.WAITING
    [question] = detail["questions"]
    assert question["status"] == "pending" and question["agent"] == "Technical Support"
    assert question["run_id"] == run["id"]


def test_a_ticket_shows_the_replies_sent(api, organization, drain):
    ticket_id = post_json(api, "/api/tickets", {"title": "How do I reset my password?",
                                                "priority": "low"}).json()["id"]  # fmt: skip
    drain()
    detail = api.get(f"/api/tickets/{ticket_id}").json()
    assert detail["status"] == "resolved"
    [reply] = detail["replies"]
    assert reply["agent"] == "Customer Support" and "password" in reply["body"].lower()
    assert detail["runs"][0]["status"] == "completed" and detail["questions"] == []


def test_priority_defaults_to_medium_and_blank_fields_are_refused(api):
    assert post_json(api, "/api/tickets", {"title": "Hi"}).json()["priority"] == "medium"
    blank = post_json(api, "/api/tickets", {"title": "   "})
    assert blank.status_code == 400
    assert blank.json() == {"detail": "title must not be blank"}
    assert Ticket.objects.count() == 1


def test_listing_filters_by_status_and_priority_and_pages(api, organization):
    for n in range(5):
        services.ticket_create(organization=organization, title=f"low {n}", priority="low")
    critical = services.ticket_create(organization=organization, title="down", priority="critical")
    services.ticket_close(ticket=critical)

    everything = api.get("/api/tickets").json()
    assert everything["count"] == 6 and everything["items"][0]["title"] == "down"  # newest first
    assert everything["items"][0]["open_questions"] == 0

    closed = api.get("/api/tickets", {"status": "closed"}).json()
    assert [t["title"] for t in closed["items"]] == ["down"]
    low = api.get("/api/tickets", {"priority": "low", "limit": 2, "offset": 1}).json()
    assert low["count"] == 5 and low["limit"] == 2 and low["offset"] == 1
    assert [t["title"] for t in low["items"]] == ["low 3", "low 2"]
    assert api.get("/api/tickets", {"priority": "low", "offset": 5}).json()["items"] == []


def test_listing_costs_the_same_queries_for_2_or_20_tickets(api, organization):
    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/tickets").status_code == 200
        return len(queries)

    api.get("/api/tickets")  # the key's first use records it; later uses within a minute don't
    for n in range(2):
        services.ticket_create(organization=organization, title=f"t{n}")
    few = queries_for_list()
    for n in range(18):
        services.ticket_create(organization=organization, title=f"more {n}")
    assert queries_for_list() == few


def test_ticket_detail_costs_the_same_queries_for_1_or_3_runs(api, organization, drain):
    ticket = services.ticket_create(organization=organization, title="How do I export to CSV?")
    drain()
    api.get("/api/tickets")  # the key's first use records it; later uses within a minute don't

    def queries_for_detail() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/tickets/{ticket.pk}").status_code == 200
        return len(queries)

    one_run = queries_for_detail()
    for follow_up in ("And to Excel?", "Thanks!"):  # each starts a run of its own
        services.ticket_message(ticket=ticket, body=follow_up, entered_by="the customer")
        drain()
    assert ticket.runs.count() == 3
    assert queries_for_detail() == one_run


@pytest.mark.parametrize("query", [{"status": "nope"}, {"priority": "urgent"}, {"limit": 0},
                                   {"limit": 201}, {"offset": -1}, {"limit": "ten"}])  # fmt: skip
def test_bad_filters_answer_422_naming_the_parameter(api, query):
    response = api.get("/api/tickets", query)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", *query]


def test_unknown_and_malformed_ticket_ids(api):
    missing = api.get("/api/tickets/999999")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "no ticket with id 999999"}
    assert api.get(f"/api/tickets/{2**70}").status_code == 404  # beyond a 64-bit integer
    assert api.get("/api/tickets/abc").status_code == 422
