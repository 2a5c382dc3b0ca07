"""Support desk benchmarks, with Claude's API faked over HTTP on 127.0.0.1 (the real SDK):

- ticket creation → first question: from calling `ticket_create` to the question's row;
- answer → run completion: from calling `question_answer` to the run's end.
"""

import os

from django.conf import settings
from django.utils import timezone

from bench.engine import Workers, reset, samples, summary, wait_for
from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.demo_model import demo_blocks
from supportdesk.desk.models import Question, Ticket
from supportdesk.durable.models import Run, RunStatus
from tests.fakes.anthropic_server import FakeAnthropicServer, message


def claude(body: dict) -> dict:
    tools = [t["name"] for t in body.get("tools", [])]
    return message(*demo_blocks(messages=body["messages"], tools=tools, labelled=False))


def ticket_round_trips(trials: int = 30) -> dict:
    reset()
    Ticket.objects.all().delete()
    organization = demo_seed(approvals=False)
    to_question, to_completion = [], []
    with FakeAnthropicServer(claude) as fake:
        os.environ.update({"ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake.base_url})
        settings.ANTHROPIC_API_KEY_SET = True
        with Workers():
            for n in range(trials + 1):  # the first warms the worker up (imports the SDK)
                started = timezone.now()
                ticket = services.ticket_create(
                    organization=organization, title=f"App crashes on launch #{n}",
                    priority="critical",
                )  # fmt: skip
                wait_for(lambda t=ticket: Question.objects.filter(ticket=t).exists())
                question = Question.objects.get(ticket=ticket)
                to_question.append((question.created_at - started).total_seconds())
                answered = timezone.now()
                services.question_answer(question=question, answered_by="bench", answer="ok")
                run = ticket.runs.get()
                wait_for(lambda r=run: Run.objects.get(pk=r.pk).status == RunStatus.COMPLETED)
                run.refresh_from_db()
                to_completion.append((run.ended_at - answered).total_seconds())
        del to_question[0], to_completion[0]
        duplicates = len(fake.duplicate_requests())
    return {
        "ticket_to_first_question": summary(to_question),
        "answer_to_completion": summary(to_completion),
        "model_requests_repeated": duplicates,
    }


def run_all() -> dict:
    return ticket_round_trips(trials=samples(30))
