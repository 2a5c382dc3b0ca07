"""API benchmarks through HTTP against the real server (`manage.py serve`, daphne), with real
workers (embedded: the server's own consumer threads; scale-out: a `run_huey` process on Redis):

- event ingestion throughput at `POST /e/<event key>`: single events (one request each) and
  batches of 100, from CLIENTS concurrent keep-alive connections, as events/s (plus each request's
  latency). These events trigger no function and match no wait: the cost of taking them in
  (validation, the key, storage with id dedup, looking for waits), not of any work they cause;
- event ingestion with work: batches of 100 events of which half start a run (that goes on to
  wait) and half resolve a waiting run (that goes on to complete), as events/s accepted and as
  events/s whose work was done (every started run waiting, every resolved run completed, counted
  from the first request);
- ticket creation → first model request: from sending `POST /api/tickets` to the fake Messages API
  (tests/fakes/anthropic_server.py, the demo model's answers) receiving the run's first inference.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from bench.desk import claude
from bench.engine import reset, samples, start_runs, summary, wait_for
from bench.server import Server
from supportdesk.api import services
from supportdesk.desk import services as desk_services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Ticket
from supportdesk.durable.engine import execute_run
from supportdesk.durable.models import Run, RunStatus
from tests.fakes.anthropic_server import FakeAnthropicServer

CLIENTS = 4
TICKET_IN_PROMPT = re.compile(r"Ticket #(\d+) ")


def ingest(url: str, bodies: list) -> tuple[float, list[float]]:
    """POST every body to `url` from CLIENTS connections; the wall time and each request's."""
    latencies: list[float] = []
    lock = threading.Lock()

    def send_share(share: list) -> None:
        with httpx.Client() as client:
            for body in share:
                started = time.perf_counter()
                response = client.post(url, json=body)
                took = time.perf_counter() - started
                assert response.status_code == 200, response.text
                with lock:
                    latencies.append(took)

    shares = [bodies[n::CLIENTS] for n in range(CLIENTS)]
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send_share, shares))
    return time.perf_counter() - started, latencies


def event_ingestion(singles: int = 2000, batches: int = 100) -> dict:
    reset()
    organization = demo_seed(approvals=False)
    key = services.key_create(organization=organization, name="bench", kind="event").plaintext
    results = {}
    with Server() as server:
        url = f"{server.url}/e/{key}"
        ingest(url, [{"name": "bench/ingested", "data": {"n": n}} for n in range(100)])  # warm-up
        single = [{"name": "bench/ingested", "data": {"n": n, "text": "x" * 200}}
                  for n in range(singles)]  # fmt: skip
        seconds, latencies = ingest(url, single)
        results["api_events_single_per_s"] = singles / seconds
        results["api_event_request_single"] = summary(latencies)
        batch = [[{"name": "bench/ingested", "data": {"batch": b, "n": n, "text": "x" * 200}}
                  for n in range(100)] for b in range(batches)]  # fmt: skip
        seconds, latencies = ingest(url, batch)
        results["api_events_batched_per_s"] = batches * 100 / seconds
        results["api_event_request_batch_100"] = summary(latencies)
    return results


def event_ingestion_with_work(batches: int = 10) -> dict:
    """Half of each batch starts a run, half resolves a run parked waiting beforehand."""
    reset()
    organization = demo_seed(approvals=False)
    tenant = desk_services.organization_tenant(organization.pk)
    key = services.key_create(organization=organization, name="bench", kind="event").plaintext
    resolving = batches * 50
    parked = start_runs("bench/wait", [{"key": f"parked-{n}"} for n in range(resolving)],
                        tenant=tenant)  # fmt: skip
    for run_id in parked:
        execute_run(run_id)
    assert Run.objects.filter(pk__in=parked, status=RunStatus.WAITING).count() == resolving
    bodies = [
        [{"name": "bench/wait", "data": {"key": f"new-{b}-{n}"}} for n in range(50)]
        + [{"name": "bench/answer", "data": {"key": f"parked-{b * 50 + n}"}} for n in range(50)]
        for b in range(batches)
    ]
    with Server() as server:
        started = time.perf_counter()
        accepted_in, latencies = ingest(f"{server.url}/e/{key}", bodies)
        new_runs = Run.objects.filter(function_id="bench-wait").exclude(pk__in=parked)
        wait_for(lambda: new_runs.filter(status=RunStatus.WAITING).count() == resolving
                 and Run.objects.filter(pk__in=parked, status=RunStatus.COMPLETED).count()
                 == resolving, timeout=600)  # fmt: skip
        done_in = time.perf_counter() - started
    events = batches * 100
    return {
        "api_events_with_work_accepted_per_s": events / accepted_in,
        "api_events_with_work_done_per_s": events / done_in,
        "api_event_request_with_work_batch_100": summary(latencies),
        "api_events_with_work": {
            "events": events,
            "runs_started": resolving,
            "waits_resolved": resolving,
        },
    }


def ticket_to_first_model_request(trials: int = 40) -> dict:
    reset()
    Ticket.objects.all().delete()
    organization = demo_seed(approvals=False)
    api_key = services.key_create(organization=organization, name="bench").plaintext
    first_request_at: dict[int, float] = {}

    def claude_noting_arrivals(body: dict) -> dict:
        prompt = str(body["messages"][0]["content"])
        found = TICKET_IN_PROMPT.search(prompt)
        if found:
            first_request_at.setdefault(int(found.group(1)), time.time())
        return claude(body)

    seconds = []
    with FakeAnthropicServer(claude_noting_arrivals) as fake:
        env = {"ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake.base_url}
        with (
            Server(env) as server,
            httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {api_key}"}
            ) as client,
        ):
            for n in range(trials + 2):  # the first two warm the workers up (imports, the SDK)
                sent = time.time()
                response = client.post("/api/tickets", json={
                    "title": f"How do I reset my password? #{n}", "priority": "low",
                })  # fmt: skip
                assert response.status_code == 201, response.text
                ticket_id = response.json()["id"]
                wait_for(lambda t=ticket_id: t in first_request_at)
                if n >= 2:
                    seconds.append(first_request_at[ticket_id] - sent)
                # The next trial starts on idle workers: this run has ended.
                run_id = response.json()["runs"][0]["id"]
                wait_for(lambda r=run_id: Run.objects.get(pk=r).is_terminal)
    return {"api_ticket_to_first_model_request": summary(seconds)}


def run_all() -> dict:
    results = {
        **event_ingestion(singles=samples(2000), batches=samples(100)),
        **event_ingestion_with_work(batches=samples(10)),
        **ticket_to_first_model_request(trials=samples(40)),
    }
    reset()
    return results
