"""Push latency: from the commit that creates a question to the frame arriving at connected
WebSocket clients (1, 100 and 1,000 of them, held by a client process of their own:
bench/ws_clients.py), through the real server (`manage.py serve`, daphne).

The question is created by a real worker (embedded: the server's own consumer threads; scale-out:
a `run_huey` process, pushes crossing Redis). The start is the question row's `created_at`, taken
inside its transaction just before the commit (so the figures include the commit itself).
"""

import asyncio
import json
import sys
import time
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from bench.engine import reset, samples, summary
from bench.server import ROOT, Server
from bench.ws_clients import raise_fd_limit
from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Question, Reviewer, Ticket


def reviewer_cookie(organization) -> str:
    user, _ = User.objects.get_or_create(username="bench-reviewer")
    Reviewer.objects.get_or_create(user=user, defaults={"organization": organization})
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def measure(port: int, cookie: str, organization, clients: int, trials: int) -> list[float]:
    """Latencies of `trials` questions at `clients` sockets held by a client process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.ws_clients", "--port", str(port), "--cookie", cookie,
        "--clients", str(clients), cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, limit=2**24,
    )  # fmt: skip
    ready = json.loads(await asyncio.wait_for(process.stdout.readline(), 300))
    assert ready["ready"] == clients, ready
    arrivals: dict[str, list[float]] = {}

    async def read_arrivals():
        while line := await process.stdout.readline():
            report = json.loads(line)
            arrivals[report["question"]] = report["arrivals"]

    reader = asyncio.create_task(read_arrivals())
    latencies = []
    try:
        for n in range(trials):
            ticket = await asyncio.to_thread(
                services.ticket_create, organization=organization, title=f"Crash #{n}",
                priority="critical",
            )  # fmt: skip
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                question = await asyncio.to_thread(
                    lambda t=ticket: Question.objects.filter(ticket=t).first()
                )
                if question and str(question.pk) in arrivals:
                    break
                await asyncio.sleep(0.01)
            else:
                raise TimeoutError("pushes did not arrive")
            committed = question.created_at.timestamp()
            latencies += [arrived - committed for arrived in arrivals.pop(str(question.pk))]
            await asyncio.sleep(0.2)  # the counts that follow a change: not in the next sample
    finally:
        reader.cancel()
        process.stdin.close()
        await process.wait()
    return latencies


def push_latency() -> dict:
    reset()
    Ticket.objects.all().delete()
    organization = demo_seed(approvals=False)
    cookie = reviewer_cookie(organization)
    results = {}
    raise_fd_limit()  # the server inherits it: 1,000 sockets
    with Server() as server:
        for clients, trials in ((1, samples(100)), (100, samples(30)), (1000, samples(20))):
            seconds = asyncio.run(measure(server.port, cookie, organization, clients, trials))
            results[f"push_latency_{clients}_clients"] = summary(seconds)
    return results


PENDING = 10_000


def seed_large_inbox(organization, pending: int = PENDING) -> None:
    """`pending` open requests in one organization, written in bulk (their run is one real run:
    the inbox never reads it)."""
    anchor = services.ticket_create(organization=organization, title="Anchor", priority="low")
    run = anchor.runs.get()
    now = timezone.now()
    priorities = ["critical", "high", "medium", "low"]
    tickets = Ticket.objects.bulk_create([
        Ticket(organization=organization, priority=priorities[n % 4],
               title=f"Customer {n}: the app crashes when exporting a report",
               body="Since the last update the export button crashes the app. " * 3,
               customer=f"customer{n}@example.com")
        for n in range(pending)
    ], batch_size=1000)  # fmt: skip
    Question.objects.bulk_create([
        Question(ticket=ticket, run=run, agent="Technical Support",
                 question=f"Is the export crash of ticket {ticket.pk} known, and is a fix coming?",
                 context="Customer on 2.4.1, iOS 17", created_at=now - timedelta(seconds=n),
                 expires_at=now + timedelta(hours=2, seconds=n))
        for n, ticket in enumerate(tickets)
    ], batch_size=1000)  # fmt: skip
    with connection.cursor() as cursor:  # planner statistics, as a table that grew would have
        for table in ("desk_ticket", "desk_question"):
            cursor.execute(f"ANALYZE {table}")


async def reconnect_frames(cookie: str, trials: int) -> tuple[list[float], int]:
    from channels.testing import WebsocketCommunicator

    from supportdesk.asgi import application

    seconds, size = [], 0
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"),
               (b"cookie", cookie.encode())]  # fmt: skip
    for _ in range(trials):
        inbox = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
        started = time.perf_counter()
        connected, _ = await inbox.connect(timeout=30)
        assert connected
        frame = await inbox.receive_from(timeout=30)
        seconds.append(time.perf_counter() - started)
        size = max(size, len(frame.encode()))
        await inbox.disconnect()
    return seconds, size


def large_inbox() -> dict:
    """The inbox of an organization with 10,000 pending requests, in this process (server time,
    without the network): the first page over HTTP, and the list a (re)connecting socket gets."""
    reset()
    Ticket.objects.all().delete()
    organization = demo_seed(approvals=False)
    seed_large_inbox(organization)
    cookie = reviewer_cookie(organization)
    client = Client(HTTP_HOST="127.0.0.1:8000")
    client.cookies["sessionid"] = cookie.split("=", 1)[1]
    results = {}
    for sort in ("urgent", "newest"):
        seconds, size = [], 0
        for _ in range(samples(100) + 1):
            started = time.perf_counter()
            response = client.get(f"/inbox/?sort={sort}")
            seconds.append(time.perf_counter() - started)
            size = max(size, len(response.content))
            page = response.content.decode()
            assert response.status_code == 200
            assert f"{PENDING} pending for this view" in page, "counts must stay exact"
        results[f"large_inbox_first_page_{sort}"] = {**summary(seconds[1:]), "bytes": size}
    seconds, size = asyncio.run(reconnect_frames(cookie, samples(100) + 1))
    results["large_inbox_reconnect_frame"] = {**summary(seconds[1:]), "bytes": size}
    results["large_inbox_pending"] = Question.objects.filter(status="pending").count()
    return results


def run_all() -> dict:
    return {**large_inbox(), **push_latency()}
