"""Keys are created in Django admin or with `manage.py apikey`, shown once, and revoked there."""

import re
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from supportdesk.api.models import ApiKey, EventKey
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)
KEY = re.compile(r"\b(sd(?:api|evt)_[0-9a-f]{8}_[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")


@pytest.fixture
def admin_client(organization):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_admin_shows_a_new_key_once_and_never_again(admin_client, organization):
    page = admin_client.get("/admin/api/apikey/add/").content.decode()
    assert 'name="name"' in page and 'name="organization"' in page
    assert "secret_hash" not in page and 'name="prefix"' not in page

    response = admin_client.post(
        "/admin/api/apikey/add/", {"organization": organization.pk, "name": "Zendesk sync"},
        follow=True,
    )  # fmt: skip
    page = response.content.decode()
    [plaintext] = KEY.findall(page)
    assert "it is not shown again" in page
    with_new_key = Client(headers={"Authorization": f"Bearer {plaintext}"})
    assert with_new_key.get("/api/tickets").status_code == 200

    key = ApiKey.objects.get()
    change = admin_client.get(f"/admin/api/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in change and "Zendesk sync" in change
    assert plaintext not in change and key.secret_hash not in change
    listing = admin_client.get("/admin/api/apikey/").content.decode()
    assert key.prefix in listing and plaintext not in listing


def test_admin_creates_event_keys_too(admin_client, organization):
    response = admin_client.post(
        "/admin/api/eventkey/add/", {"organization": organization.pk, "name": "Inngest"},
        follow=True,
    )  # fmt: skip
    [plaintext] = KEY.findall(response.content.decode())
    assert plaintext.startswith("sdevt_") and EventKey.objects.get().name == "Inngest"


def test_admin_action_revokes_keys(admin_client, api):
    key = api.api_key.key
    response = admin_client.post(
        "/admin/api/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/tickets").status_code == 401


def test_command_creates_lists_and_revokes_keys(organization, capsys):
    call_command("apikey", "create", "--org", "acme", "--name", "Zendesk sync")
    out = capsys.readouterr()
    first_line, plaintext = out.out.strip().splitlines()
    key = ApiKey.objects.get()
    assert first_line == f"API key {key.prefix} created for acme: Zendesk sync"
    assert plaintext.startswith(f"{key.prefix}_") and KEY.fullmatch(plaintext)
    assert "not shown again" in out.err
    call_command("apikey", "create", "--org", "acme", "--name", "Inngest", "--kind", "event")
    event_key = EventKey.objects.get()
    capsys.readouterr()

    call_command("apikey", "list", "--org", "acme")
    listing = capsys.readouterr().out
    assert key.prefix in listing and event_key.prefix in listing and "active" in listing
    assert plaintext not in listing

    call_command("apikey", "revoke", key.prefix)
    assert capsys.readouterr().out.strip() == f"revoked API key {key.prefix} (Zendesk sync)"
    key.refresh_from_db()
    assert key.revoked_at is not None
    call_command("apikey", "list")
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["create", "--org", "nope", "--name", "x"], "no organization with slug 'nope'"),
    (["create", "--org", "acme", "--name", "  "], "a key needs a name"),
    (["revoke", "sdapi_ffffffff"], "no key with prefix 'sdapi_ffffffff'"),
    (["list", "--org", "nope"], "no organization with slug 'nope'"),
])  # fmt: skip
def test_command_errors_are_one_clear_line(organization, args, message):
    with pytest.raises(CommandError) as error:
        call_command("apikey", *args)
    assert message in str(error.value)


def test_revoking_twice_says_when_it_was_revoked(api):
    call_command("apikey", "revoke", api.api_key.key.prefix)
    with pytest.raises(CommandError, match=r"was already revoked at "):
        call_command("apikey", "revoke", api.api_key.plaintext)  # the whole key works too


def test_the_command_line_shows_no_traceback(organization):
    from tests.conftest import worker_environment

    done = subprocess.run(
        [sys.executable, "manage.py", "apikey", "revoke", "12"], cwd=ROOT,
        env=worker_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == "CommandError: no key with prefix '12' (see `manage.py apikey list`)\n"
    bad_kind = subprocess.run(
        [sys.executable, "manage.py", "apikey", "create", "--org", "acme", "--name", "x",
         "--kind", "root"], cwd=ROOT, env=worker_environment(), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert bad_kind.returncode != 0 and "Traceback" not in bad_kind.stderr
    assert "invalid choice: 'root'" in bad_kind.stderr
