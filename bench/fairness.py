"""Fairness between organizations, with Claude's API faked over HTTP on 127.0.0.1 (the real SDK):
organization A's ticket → first question, unloaded, then while organization B floods 2,000 tickets
(2,000 `ticket.created` events at once, B at the default concurrency limit).
"""

import os
import time

from django.conf import settings
from django.utils import timezone

from bench.desk import claude
from bench.engine import Workers, reset, samples, summary, wait_for
from supportdesk import durable
from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Question, Ticket
from supportdesk.durable.models import TERMINAL_STATUSES, Run
from supportdesk.durable.services import runs_cancel
from tests.fakes.anthropic_server import FakeAnthropicServer


def first_question_seconds(organization, title: str) -> float:
    started = timezone.now()
    ticket = services.ticket_create(organization=organization, title=title, priority="critical")
    wait_for(lambda: Question.objects.filter(ticket=ticket).exists(), timeout=300)
    return (Question.objects.get(ticket=ticket).created_at - started).total_seconds()


def flood(organization, count: int) -> None:
    """`count` tickets of B and their `ticket.created` events, as one client would send them."""
    tickets = Ticket.objects.bulk_create(
        Ticket(organization=organization, title=f"Checkout is down #{n}", priority="critical")
        for n in range(count)
    )
    tenant = services.organization_tenant(organization.pk)
    for offset in range(0, count, 500):
        durable.send_events(
            [{"name": services.TICKET_CREATED, "data": {"ticketId": t.pk}}
             for t in tickets[offset : offset + 500]],
            tenant=tenant,
        )  # fmt: skip


def quiet_tenant_under_flood(trials: int = 20, flooding: int = 2000) -> dict:
    reset()
    Ticket.objects.all().delete()
    quiet = demo_seed(approvals=False)
    noisy = demo_seed(slug="flood", name="Flood Inc.", approvals=False)
    with FakeAnthropicServer(claude) as fake:
        os.environ.update({"ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake.base_url})
        settings.ANTHROPIC_API_KEY_SET = True
        with Workers():
            first_question_seconds(quiet, "warm-up")
            unloaded = [first_question_seconds(quiet, f"Crash #{n}") for n in range(trials)]
            flood(noisy, flooding)
            time.sleep(0.5)  # the flood is queued and being worked on
            loaded = [first_question_seconds(quiet, f"Flooded #{n}") for n in range(trials)]
            noisy_runs = Run.objects.filter(tenant=services.organization_tenant(noisy.pk))
            worked = noisy_runs.filter(status__in=["waiting", *TERMINAL_STATUSES]).count()
            left = noisy_runs.exclude(status__in=TERMINAL_STATUSES).values_list("pk", flat=True)
            runs_cancel(list(left), reason="benchmark over")
    unloaded_summary, loaded_summary = summary(unloaded), summary(loaded)
    return {
        "quiet_first_question_unloaded": unloaded_summary,
        "quiet_first_question_under_flood": loaded_summary,
        "flood_over_unloaded_p50": loaded_summary["p50_ms"] / unloaded_summary["p50_ms"],
        "flood_tickets": flooding,
        "flood_runs_worked_meanwhile": worked,
        "flood_concurrency_limit": settings.ORGANIZATION_CONCURRENCY,
    }


def run_all() -> dict:
    return quiet_tenant_under_flood(trials=samples(20))
