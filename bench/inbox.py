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

from django.contrib.auth.models import User
from django.test import Client

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
            await asyncio.sleep(0.05)  # the counts that follow a change: not in the next sample
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


def run_all() -> dict:
    return push_latency()
