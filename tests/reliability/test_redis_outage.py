"""Redis goes down and comes back (empty: it keeps nothing on disk) while tickets are created and
questions answered: everything is committed and answered at once, and picked up after."""

import json
import shutil
import subprocess
import sys
import time

import pytest

from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Question, QuestionStatus, Ticket
from supportdesk.durable.models import Run, RunStatus
from tests.conftest import ROOT, free_port, wait_until, worker_environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TICKETS = 6


class PrivateRedis:
    """A Redis of this test's own on a free port, so stopping it disturbs nobody else."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(0.3)

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture
def redis():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is not installed")
    server = PrivateRedis()
    yield server
    server.stop()


SCRIPT = """
import json
import time
from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError


def timed(op, call):
    started = time.time()
    result = call()
    print(json.dumps({{"op": op, "started": started, "returned": time.time(), "id": result}}),
          flush=True)


{body}
"""
CREATE = """
from supportdesk import durable
organization = selectors.organization_get("acme")
for n in range({tickets}):
    timed("ticket", lambda: services.ticket_create(
        organization=organization, title=f"Crash number {{n}}", priority="critical").pk)
    timed("event", lambda: durable.send_events(
        {{"name": "test/steps", "data": {{"count": 2}}, "id": f"outage-{{n}}"}})[0])
    time.sleep(0.4)
print("created")
"""
ANSWER = """
answered = set()
deadline = time.monotonic() + 60
while len(answered) < {tickets} and time.monotonic() < deadline:
    for question in selectors.questions_pending():
        if question.pk not in answered:
            timed("answer", lambda: str(services.question_answer(
                question=question, answered_by="ann", answer="roll back").pk))
            answered.add(question.pk)
            time.sleep(0.4)
    time.sleep(0.1)
print("answered", len(answered))
"""


def run_script(body: str, env: dict) -> subprocess.Popen:
    code = SCRIPT.format(body=body.format(tickets=TICKETS))
    return subprocess.Popen([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def restart_during(process: subprocess.Popen, redis: PrivateRedis) -> tuple[str, dict]:
    """Stop Redis while the script runs and start it again (empty); the script's output, and what
    it did while Redis was down: {op: [id, ...]} of calls that began and returned in the outage.
    The outage begins once the script has made its first call (its start-up takes a while)."""
    first = ""
    while not first.endswith("}\n"):  # the shell's banner, then the first call's line
        line = process.stdout.readline()
        assert line, first + process.communicate(timeout=90)[1]
        first += line
    redis.stop()  # the queue and its messages are gone
    down_from = time.time()
    time.sleep(1.2)
    down_until = time.time()
    redis.start()
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    out = first + out
    during: dict[str, list] = {}
    for line in out.splitlines():
        if line.startswith("{"):
            call = json.loads(line)
            if down_from < call["started"] and call["returned"] < down_until:
                during.setdefault(call["op"], []).append(call["id"])
    return out, during


def test_redis_restarts_lose_no_ticket_run_or_answer(redis, start_worker):
    demo_seed(approvals=False)
    env = worker_environment(
        {"REDIS_URL": redis.url, "ANTHROPIC_API_KEY": "", "DURABLE_LEASE_SECONDS": "1"}
    )
    start_worker(workers=2, extra_env={"REDIS_URL": redis.url, "ANTHROPIC_API_KEY": ""})

    out, during = restart_during(run_script(CREATE, env), redis)
    assert "created" in out
    assert Ticket.objects.count() == TICKETS
    # Tickets and events were committed, and the callers answered, while Redis was away...
    assert during.get("ticket") and during.get("event"), during
    # ...and their work was picked up once it was back.
    wait_until(lambda: Question.objects.count() == TICKETS, timeout=60)
    events = Run.objects.filter(function_id="test-steps")
    wait_until(lambda: events.filter(status=RunStatus.COMPLETED).count() == TICKETS, 60)
    for ticket_id in during["ticket"]:
        assert Question.objects.filter(ticket_id=ticket_id).exists()
    for event_id in during["event"]:
        assert events.get(event__event_id=event_id).output == {"total": 0 + 1}

    out, during = restart_during(run_script(ANSWER, env), redis)
    assert f"answered {TICKETS}" in out
    assert during.get("answer"), during  # answers accepted while Redis was away
    tickets = Run.objects.filter(function_id="support-agent-workflow")
    wait_until(lambda: tickets.filter(status=RunStatus.COMPLETED).count() == TICKETS, 60)
    assert Question.objects.filter(status=QuestionStatus.ANSWERED).count() == TICKETS
    for ticket in Ticket.objects.all():
        [reply] = ticket.replies.all()
        assert "roll back" in reply.body
    for question_id in during["answer"]:
        question = Question.objects.get(pk=question_id)
        assert question.status == QuestionStatus.ANSWERED
        assert question.run.status == RunStatus.COMPLETED
