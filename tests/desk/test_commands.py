"""The CLI answers bad ids and arguments with one clear line and a non-zero exit."""

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from supportdesk.desk import services
from tests.conftest import ROOT, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["question", "answer", "not-a-uuid", "text"], "no question with id not-a-uuid"),
        (["question", "answer", "00000000-0000-0000-0000-000000000000", "x"], "no question"),
        (["run", "show", "12"], "no run with id 12"),
        (["ticket", "show", "abc"], "no ticket with id abc"),
        (["ticket", "create", "--title", "   "], "title must not be blank"),
        (["ticket", "create", "--title", "x", "--org", "nobody"], "no organization with slug"),
    ],
)
def test_bad_ids_and_arguments_get_one_clear_line(organization, args, message):
    with pytest.raises(CommandError, match=message):
        call_command(*args)


def test_question_list_prints_one_pending_question_per_line_id_first(organization, drain):
    ticket = services.ticket_create(
        organization=organization, title="Checkout crashes", priority="critical"
    )
    drain()
    out = io.StringIO()
    call_command("question", "list", stdout=out)
    [line] = out.getvalue().splitlines()
    question = ticket.questions.get()
    assert line.startswith(f"{question.pk}  ticket {ticket.pk} [critical] Technical Support: ")
    assert question.question in line


def test_a_reader_that_stops_early_ends_the_command_quietly(organization):
    """`manage.py ticket show 3 | head`: no BrokenPipeError traceback."""
    ticket = services.ticket_create(organization=organization, title="Long", body="x")
    for _ in range(8):  # 160 kB of output: more than a pipe holds
        services.ticket_message(ticket=ticket, body="y" * 20_000, entered_by="phone")
    reader = subprocess.run(
        f"{sys.executable} manage.py ticket show {ticket.pk} | head -c 100",
        shell=True, capture_output=True, text=True, env=worker_environment(), cwd=ROOT,
        timeout=60,
    )  # fmt: skip
    assert reader.stdout.startswith(f"ticket {ticket.pk} [medium]")
    assert "Traceback" not in reader.stderr and "BrokenPipeError" not in reader.stderr
