"""Sign-in is throttled (django-axes) on the reviewers' login page and on /admin/login/: after 5
failures in a row for one user name, or from one address, even the right password is refused for
15 minutes, with a page that says so — through the test client and through daphne."""

from datetime import timedelta

import httpx
import pytest
from axes.models import AccessAttempt
from django.test import Client

pytestmark = [pytest.mark.django_db(transaction=True)]

LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


def sign_in(client: Client, page: str, username: str, password: str):
    return client.post(page, {"username": username, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def staff_ann(ann):
    ann.is_staff = True
    ann.save(update_fields=["is_staff"])
    return ann


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(staff_ann, page):
    client = Client()
    for _ in range(30):
        assert not signed_in(client)
        sign_in(client, page, "ann", "wrong")
    response = sign_in(client, page, "ann", "pw")
    assert not signed_in(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    text = response.content.decode()
    assert "Sign-in is locked for 15 minutes" in text
    assert "Too many failed sign-ins: 5 in a row" in text
    assert client.get("/inbox/").status_code == 302  # to the login page


def test_the_lock_starts_at_the_fifth_failure(ann):
    client = Client()
    for attempt in range(1, 6):
        response = sign_in(client, "/accounts/login/", "ann", "wrong")
        assert response.status_code == (429 if attempt == 5 else 200), attempt
    assert sign_in(Client(), "/accounts/login/", "ann", "pw").status_code == 429


def test_a_user_name_is_locked_whatever_the_address(ann):
    for number in range(5):
        Client(REMOTE_ADDR=f"203.0.113.{number}").post(
            "/accounts/login/", {"username": "ann", "password": "wrong"}
        )
    fresh_address = Client(REMOTE_ADDR="198.51.100.7")
    assert sign_in(fresh_address, "/accounts/login/", "ann", "pw").status_code == 429
    assert not signed_in(fresh_address)


def test_an_address_is_locked_whatever_the_user_name(ann):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(5):
        sign_in(client, "/accounts/login/", f"guess{number}", "wrong")
    assert sign_in(client, "/accounts/login/", "ann", "pw").status_code == 429
    assert not signed_in(client)
    other_address = Client(REMOTE_ADDR="198.51.100.7")  # ann herself, elsewhere, is not locked
    sign_in(other_address, "/accounts/login/", "ann", "pw")
    assert signed_in(other_address)


def test_the_lock_lifts_after_the_cool_off(ann):
    client = Client()
    for _ in range(5):
        sign_in(client, "/accounts/login/", "ann", "wrong")
    assert sign_in(client, "/accounts/login/", "ann", "pw").status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time
                                 - timedelta(minutes=16))  # fmt: skip
    sign_in(client, "/accounts/login/", "ann", "pw")
    assert signed_in(client)


def test_a_success_resets_the_count(ann):
    client = Client()
    for _ in range(3):
        for _ in range(4):
            sign_in(client, "/accounts/login/", "ann", "wrong")
        response = sign_in(client, "/accounts/login/", "ann", "pw")
        assert response.status_code == 302 and signed_in(client)
        client.logout()


@pytest.mark.parametrize("username", ["ann\x00", "\x00", "a" * 10_000])
def test_odd_user_names_are_failures_not_errors(ann, username):
    response = sign_in(Client(), "/accounts/login/", username, "pw")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


@pytest.mark.slow
def test_the_lock_holds_under_daphne(live_app, ann):
    app = live_app()
    with httpx.Client(base_url=app.url, timeout=10) as browser:
        browser.get("/accounts/login/")
        token = browser.cookies["csrftoken"]
        statuses = [
            browser.post("/accounts/login/", data={"username": "ann", "password": password,
                                                   "csrfmiddlewaretoken": token}).status_code
            for password in ["wrong"] * 30 + ["pw"]
        ]  # fmt: skip
        assert statuses[:4] == [200] * 4 and set(statuses[4:]) == {429}
        assert "sessionid" not in browser.cookies
        locked = browser.post("/accounts/login/", data={"username": "ann", "password": "pw",
                                                        "csrfmiddlewaretoken": token})  # fmt: skip
        assert "Sign-in is locked for 15 minutes" in locked.text
        assert browser.get("/inbox/").status_code == 302
