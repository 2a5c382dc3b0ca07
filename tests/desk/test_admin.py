"""The desk in Django admin."""

import html
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from supportdesk.desk.models import Question, QuestionStatus

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_pending_question_cannot_be_deleted_from_under_its_run(organization, ask):
    """Deleting it left its run waiting until the timeout, for an answer nobody could give."""
    question = ask(organization)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    page = admin.get(f"/admin/desk/question/{question.pk}/delete/")
    assert page.status_code == 403
    selected = {"action": "delete_selected", "_selected_action": [str(question.pk)]}
    bulk = admin.post("/admin/desk/question/", selected)
    assert bulk.status_code in (200, 302, 403)
    assert Question.objects.get(pk=question.pk).status == QuestionStatus.PENDING


def test_admin_is_named_for_supportdesk_and_a_runs_steps_fit_the_page(admin_client, ask,
                                                                       organization):  # fmt: skip
    index = admin_client.get("/admin/").content.decode()
    assert "supportdesk administration" in index and "Django administration" not in index
    assert "<title>Organizations, agents, tickets and runs | supportdesk admin</title>" in index
    assert "/static/css/admin.css" in index and "favicon.svg" in index
    question = ask(organization)
    run_page = admin_client.get(f"/admin/durable/run/{question.run_id}/change/").content.decode()
    # A step's output is an excerpt of at most 600 characters, not a model response in full.
    outputs = re.findall(r'<td class="field-output_excerpt">\s*<p>(.*?)</p>', run_page, re.S)
    assert outputs and max(len(html.unescape(text)) for text in outputs) <= 600
