"""Redis goes down and comes back (empty: it keeps nothing on disk) while tickets are created and
questions answered: everything is committed and answered at once, and picked up after."""

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
import time
from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
{body}
"""
CREATE = """
from supportdesk import durable
organization = selectors.organization_get("acme")
for n in range({tickets}):
    services.ticket_create(organization=organization, title=f"Crash number {{n}}",
                           priority="critical")
    durable.send_events({{"name": "test/steps", "data": {{"count": 2}}, "id": f"outage-{{n}}"}})
    time.sleep(0.4)
print("created")
"""
ANSWER = """
answered = set()
deadline = time.monotonic() + 60
while len(answered) < {tickets} and time.monotonic() < deadline:
    for question in selectors.questions_pending():
        if question.pk not in answered:
            services.question_answer(question=question, answered_by="ann", answer="roll back")
            answered.add(question.pk)
            time.sleep(0.4)
    time.sleep(0.1)
print("answered", len(answered))
"""


def run_script(body: str, env: dict) -> subprocess.Popen:
    code = SCRIPT.format(body=body.format(tickets=TICKETS))
    return subprocess.Popen([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def restart_during(process: subprocess.Popen, redis: PrivateRedis) -> tuple[str, str]:
    time.sleep(1.0)
    redis.stop()  # the queue and its messages are gone
    time.sleep(1.2)
    redis.start()
    out, err = process.communicate(timeout=90)
    assert process.returncode == 0, err
    return out, err


def test_redis_restarts_lose_no_ticket_run_or_answer(redis, start_worker):
    demo_seed()
    env = worker_environment(
        {"REDIS_URL": redis.url, "ANTHROPIC_API_KEY": "", "DURABLE_LEASE_SECONDS": "1"}
    )
    start_worker(workers=2, extra_env={"REDIS_URL": redis.url, "ANTHROPIC_API_KEY": ""})

    out, _ = restart_during(run_script(CREATE, env), redis)
    assert "created" in out
    assert Ticket.objects.count() == TICKETS  # every ticket committed while Redis was away
    wait_until(lambda: Question.objects.count() == TICKETS, timeout=60)
    events = Run.objects.filter(function_id="test-steps")
    wait_until(lambda: events.filter(status=RunStatus.COMPLETED).count() == TICKETS, 60)

    out, _ = restart_during(run_script(ANSWER, env), redis)
    assert f"answered {TICKETS}" in out
    tickets = Run.objects.filter(function_id="support-agent-workflow")
    wait_until(lambda: tickets.filter(status=RunStatus.COMPLETED).count() == TICKETS, 60)
    assert Question.objects.filter(status=QuestionStatus.ANSWERED).count() == TICKETS
    for ticket in Ticket.objects.all():
        [reply] = ticket.replies.all()
        assert "roll back" in reply.body
