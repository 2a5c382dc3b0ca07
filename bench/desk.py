"""Support desk benchmarks, with Claude's API faked over HTTP on 127.0.0.1 (the real SDK):

- ticket creation → first question: from calling `ticket_create` to the question's row;
- answer → run completion: from calling `question_answer` to the run's end;
- an incident: 100 runs waiting on one question group, answered with one `group_answer`; from the
  call to the last run's resume (its wait resolved and its next step done) and to its end.
"""

import os

from django.conf import settings
from django.utils import timezone

from bench.engine import Workers, reset, samples, summary, wait_for
from supportdesk.desk import selectors, services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.demo_model import demo_blocks
from supportdesk.desk.models import Question, Ticket
from supportdesk.durable.models import Run, RunStatus, Step
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


INCIDENT_TITLES = ["iOS 17 app crashes on launch", "App crashes at launch on iOS 17",
                   "iOS 17: the app crashes on launch", "Crash on launch since iOS 17"]  # fmt: skip


def incident_fan_out(count: int = 100) -> dict:
    reset()
    Ticket.objects.all().delete()
    organization = demo_seed(approvals=False)
    with FakeAnthropicServer(claude) as fake:
        os.environ.update({"ANTHROPIC_API_KEY": "bench-key", "ANTHROPIC_BASE_URL": fake.base_url})
        settings.ANTHROPIC_API_KEY_SET = True
        with Workers():
            tickets = [
                services.ticket_create(organization=organization, priority="critical",
                                       title=f"{INCIDENT_TITLES[n % 4]} (customer {n})")
                for n in range(count)
            ]  # fmt: skip
            waiting = Question.objects.filter(ticket__in=tickets, status="pending")
            wait_for(lambda: waiting.count() == count, timeout=600)
            groups = set(waiting.values_list("group_id", flat=True))
            assert len(groups) == 1 and None not in groups, f"grouped as {groups}"
            run_ids = [ticket.runs.get().pk for ticket in tickets]
            started = timezone.now()
            result = services.group_answer(group=selectors.question_group_get(groups.pop()),
                                           answer="Known iOS 17 bug; 3.2.1 fixes it.",
                                           answered_by="bench")  # fmt: skip
            answered = timezone.now()
            runs = Run.objects.filter(pk__in=run_ids)
            wait_for(lambda: not runs.exclude(status=RunStatus.COMPLETED).exists(), timeout=600)
    resumed = [
        Step.objects.filter(run_id=run_id, key="ask_developer.announced").values_list(
            "started_at", flat=True).get()
        for run_id in run_ids
    ]  # fmt: skip
    return {
        "incident_runs": count,
        "incident_answered": len(result.answered),
        "incident_all_resumed": Run.objects.filter(pk__in=run_ids,
                                                   status=RunStatus.COMPLETED).count(),
        "incident_group_answer_call_ms": (answered - started).total_seconds() * 1000,
        "incident_last_resume_ms": (max(resumed) - started).total_seconds() * 1000,
        "incident_last_completion_ms": (max(Run.objects.filter(pk__in=run_ids).values_list(
            "ended_at", flat=True)) - started).total_seconds() * 1000,
    }


def run_all() -> dict:
    return {**ticket_round_trips(trials=samples(30)), **incident_fan_out(samples(100))}
