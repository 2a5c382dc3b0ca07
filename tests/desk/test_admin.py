"""The desk in Django admin."""

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
