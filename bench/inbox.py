"""Push latency: from the commit that creates a question to the frame arriving at connected
WebSocket clients (1 and 100 of them), through the real server (`manage.py serve`, daphne).

The question is created by a real worker (embedded: the server's own consumer threads; scale-out:
a `run_huey` process, pushes crossing Redis). The start is the question row's `created_at`, taken
inside its transaction just before the commit (so the figures include the commit itself).
"""

import asyncio
import re
import time

from django.contrib.auth.models import User
from django.test import Client

from bench.engine import reset, samples, summary
from bench.server import Server
from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Question, Reviewer, Ticket

CARD = re.compile(r'afterbegin:#question-list"><article id="question-([0-9a-f-]{36})"')


def reviewer_cookie(organization) -> str:
    user, _ = User.objects.get_or_create(username="bench-reviewer")
    Reviewer.objects.get_or_create(user=user, defaults={"organization": organization})
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def measure(port: int, cookie: str, organization, clients: int, trials: int) -> list[float]:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/ws/inbox/?sort=newest"
    headers = {"Cookie": cookie}
    arrivals: dict[str, list[float]] = {}
    sockets = [await connect(url, additional_headers=headers, origin=f"http://127.0.0.1:{port}",
                             compression=None, max_size=None) for _ in range(clients)]  # fmt: skip
    for ws in sockets:
        await ws.recv()  # the full list

    async def listen(ws):
        async for frame in ws:
            received = time.time()
            found = CARD.search(frame)
            if found:
                arrivals.setdefault(found.group(1), []).append(received)

    listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
    latencies = []
    for n in range(trials):
        ticket = await asyncio.to_thread(
            services.ticket_create, organization=organization, title=f"Crash #{n}",
            priority="critical",
        )  # fmt: skip
        question = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            question = await asyncio.to_thread(
                lambda t=ticket: Question.objects.filter(ticket=t).first()
            )
            if question and len(arrivals.get(str(question.pk), [])) == clients:
                break
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("pushes did not arrive")
        committed = question.created_at.timestamp()
        latencies += [arrived - committed for arrived in arrivals[str(question.pk)]]

    for task in listeners:
        task.cancel()
    for ws in sockets:
        await ws.close()
    return latencies


def push_latency() -> dict:
    reset()
    Ticket.objects.all().delete()
    organization = demo_seed(approvals=False)
    cookie = reviewer_cookie(organization)
    results = {}
    with Server() as server:
        for clients, trials in ((1, samples(60)), (100, samples(30))):
            seconds = asyncio.run(measure(server.port, cookie, organization, clients, trials))
            results[f"push_latency_{clients}_clients"] = summary(seconds)
    return results


def run_all() -> dict:
    return push_latency()
