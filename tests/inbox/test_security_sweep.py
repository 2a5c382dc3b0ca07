"""The rest of the security sweep: admin is staff-only, passwords are hashed, forms are bounded."""

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.test import Client

from supportdesk.desk.models import Question

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_admin_is_for_staff_only(ann):
    client = Client()
    client.force_login(ann)  # a reviewer, not staff
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert Client().get("/admin/durable/run/").status_code == 302


def test_passwords_are_stored_hashed(ann, settings):
    assert ann.password != "pw"
    assert identify_hasher(ann.password).algorithm  # a known hasher, never plain text
    from supportdesk import settings as production

    assert not hasattr(production, "PASSWORD_HASHERS")  # Django's default: PBKDF2


def test_an_oversized_form_post_is_refused_and_changes_nothing(ann, ask, organization):
    question = ask(organization)
    client = Client(raise_request_exception=False)
    client.force_login(ann)
    response = client.post(f"/questions/{question.pk}/answer", {"answer": "x" * (3 * 1024**2)})
    assert response.status_code in (400, 413)
    assert Question.objects.get(pk=question.pk).answer == ""


def test_an_answer_over_the_text_limit_gets_a_message(ann, ask, organization):
    question = ask(organization)
    client = Client()
    client.force_login(ann)
    response = client.post(f"/questions/{question.pk}/answer", {"answer": "x" * 20_001})
    assert response.status_code == 400
    assert "answer is 20,001 characters long; the limit is 20,000" in response.content.decode()


def test_no_page_links_to_an_outside_host(ann, ask, organization):
    question = ask(organization)
    client = Client()
    client.force_login(ann)
    for url in ["/inbox/", f"/questions/{question.pk}/", f"/tickets/{question.ticket_id}/",
                "/accounts/login/"]:  # fmt: skip
        page = client.get(url).content.decode()
        assert "https://" not in page and "http://" not in page.replace("http://testserver", "")
