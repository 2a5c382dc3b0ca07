"""Keys in Django admin: a new key is shown once, in the response to the add form (never in a
message, a cookie or the session), then only its prefix; a staff user of one organization cannot
see, revoke or create the keys of another."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.messages.storage.cookie import CookieStorage, MessageSerializer
from django.contrib.sessions.models import Session
from django.core import signing
from django.test import Client

from supportdesk.api import services
from supportdesk.api.models import ApiKey, EventKey
from tests.admin_pages import admin_url, logged_in, make_organization_staff, select_options

pytestmark = pytest.mark.django_db(transaction=True)
# A key may end with "-" or "_": \b would not end it.
KEY = re.compile(r"sd(?:api|evt)_[0-9a-f]{8}_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


@pytest.fixture
def acme_staff(organization):
    return make_organization_staff("ann", organization)


def readable(cookie_value: str) -> str:
    """A cookie as anyone holding it can read it: Django's messages cookie is signed and
    compressed, not encrypted."""
    try:
        signer = signing.get_cookie_signer(salt=CookieStorage.key_salt)
        return repr(signer.unsign_object(cookie_value, serializer=MessageSerializer))
    except signing.BadSignature:
        return cookie_value


def everything_the_browser_keeps(client: Client, response) -> str:
    """The Set-Cookie headers of the response and every cookie the client holds, decoded, and the
    sessions as stored in the database."""
    set_cookies = [readable(morsel.value) for morsel in response.cookies.values()]
    held = [readable(morsel.value) for morsel in client.cookies.values()]
    sessions = [repr(session.get_decoded()) for session in Session.objects.all()]
    return "\n".join([*set_cookies, *held, *sessions])


@pytest.mark.parametrize("model", [ApiKey, EventKey])
def test_a_new_key_is_shown_once_in_the_response_never_in_a_cookie(acme_staff, organization, model):
    staff = logged_in(acme_staff)
    response = staff.post(admin_url(model, "add"), {"organization": organization.pk, "name": "CI"})
    assert response.status_code == 200  # the page itself, not a redirect to a message
    page = response.content.decode()
    [plaintext] = KEY.findall(page)
    key = model.objects.get()
    assert plaintext.startswith(f"{key.prefix}_") and "it is not shown again" in page
    assert services.key_authenticate(kind=model.KIND, plaintext=plaintext) == key
    assert "no-store" in response.headers["Cache-Control"]

    assert plaintext not in everything_the_browser_keeps(staff, response)
    assert plaintext not in "".join(str(entry) for entry in LogEntry.objects.all())
    later = [
        staff.get(admin_url(model, "changelist")),
        staff.get(admin_url(key)),
        staff.get("/admin/"),
    ]
    for after in later:
        assert plaintext not in after.content.decode()
        assert plaintext not in everything_the_browser_keeps(staff, after)
    assert key.prefix in later[0].content.decode()
    assert key.secret_hash not in later[1].content.decode()


def test_a_staff_user_cannot_create_or_see_another_organizations_keys(
    acme_staff, organization, other_organization
):
    staff = logged_in(acme_staff)
    globex_key = services.key_create(organization=other_organization, name="globex sync").key
    globex_event_key = services.key_create(
        organization=other_organization, name="globex in", kind="event"
    ).key
    for model, globex in ((ApiKey, globex_key), (EventKey, globex_event_key)):
        form = staff.get(admin_url(model, "add")).content.decode()
        assert [value for value, _ in select_options(form, "organization")] == [
            "",
            str(organization.pk),
        ]
        refused = staff.post(
            admin_url(model, "add"), {"organization": other_organization.pk, "name": "mine now"}
        )
        assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
        assert not KEY.findall(refused.content.decode())
        assert not model.objects.filter(name="mine now").exists()

        listing = staff.get(admin_url(model, "changelist")).content.decode()
        assert globex.prefix not in listing and "Globex" not in listing
        assert staff.get(admin_url(globex)).status_code == 404

    staff.post(admin_url(ApiKey, "changelist"), {
        "action": "revoke_keys", "_selected_action": [globex_key.pk],
    })  # fmt: skip
    globex_key.refresh_from_db()
    assert globex_key.revoked_at is None

    # A superuser still creates keys for any organization.
    root = logged_in(User.objects.create_superuser("root", "root@example.com", "pw"))
    created = root.post(
        admin_url(ApiKey, "add"),
        {"organization": other_organization.pk, "name": "by root"},
        follow=True,
    )
    assert KEY.findall(created.content.decode())
    assert ApiKey.objects.get(name="by root").organization == other_organization
