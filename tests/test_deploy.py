"""Production settings from the environment: `manage.py check --deploy` is clean with them, the
server refuses to start, in one line, with unsafe ones, and HTTPS_ONLY does what it says
(redirect, secure cookies, the proxy's X-Forwarded-Proto)."""

import json
import secrets
import subprocess
import sys

import pytest

from supportdesk.config import DEVELOPMENT_SECRET_KEY
from tests.conftest import ROOT, free_port, worker_environment

pytestmark = pytest.mark.slow  # every test starts processes


def production_env(data_dir, **changes) -> dict:
    """The README's production settings (embedded database: check --deploy needs no server)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "HTTPS_ONLY": "1",
        "ALLOWED_HOSTS": "desk.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://desk.example.com",
        "SITE_URL": "https://desk.example.com",
        "SUPPORTDESK_DATA_DIR": str(data_dir),
    }
    env.update(changes)
    return {name: value for name, value in env.items() if value is not None}


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_development_defaults_are_flagged_by_check_deploy(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SUPPORTDESK_DATA_DIR": str(tmp_path), "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


SERVERS = {
    "daphne": [sys.executable, "-m", "daphne", "-p", "{port}", "supportdesk.asgi:application"],
    "manage.py serve": [sys.executable, "manage.py", "serve", "--port", "{port}"],
    "manage.py run_huey": [sys.executable, "manage.py", "run_huey", "-w", "1"],
}


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(
    ("key", "why"),
    [
        (None, "no SECRET_KEY is set"),
        (DEVELOPMENT_SECRET_KEY, "is the public development key"),
        ("short-and-guessable", "is too short"),
    ],
)
def test_the_server_refuses_to_start_without_a_real_secret_key(tmp_path, server, key, why):
    command = [part.replace("{port}", str(free_port())) for part in SERVERS[server]]
    process = subprocess.Popen(
        command, cwd=ROOT, env=production_env(tmp_path, SECRET_KEY=key),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"{server} started with an unsafe secret key")
    assert process.returncode != 0
    assert stdout == ""
    [line] = stderr.splitlines()  # one line, no traceback
    assert line.startswith("supportdesk refuses to start: DEBUG is off")
    assert why in line


HTTPS_PROBE = """
import json
from django.test import Client, RequestFactory

def cookie(response, name):
    morsel = response.cookies.get(name)
    return morsel and {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"])}

client = Client()
plain = client.get("/accounts/login/")
proxied = client.get("/accounts/login/", headers={"x-forwarded-proto": "https"})
login = client.post("/accounts/login/", {"username": "ann", "password": "pw"},
                    headers={"x-forwarded-proto": "https"})
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security")],
    "csrf_cookie": cookie(proxied, "csrftoken"),
    "login": [login.status_code, login.get("Location")],
    "session_cookie": cookie(login, "sessionid"),
    "header_trusted": RequestFactory().get("/", headers={"x-forwarded-proto": "https"}).is_secure(),
}))
"""


def https_probe(**env: str) -> dict:
    """Requests through the whole middleware stack of a process whose settings were read from
    `env` at import, as in production (settings are read once)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", HTTPS_PROBE],
        cwd=ROOT, env=worker_environment({"DEBUG": "0", **env}), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_only_redirects_marks_cookies_secure_and_trusts_the_proxy(ann):
    seen = https_probe(HTTPS_ONLY="1", SECRET_KEY=secrets.token_urlsafe(50))
    # Plain HTTP is redirected; HTTPS as the proxy reports it (X-Forwarded-Proto) is served, with
    # HSTS, and every cookie it sets is Secure.
    assert seen["plain"] == [301, "https://testserver/accounts/login/"]
    assert seen["proxied"] == [200, "max-age=31536000; includeSubDomains; preload"]
    assert seen["csrf_cookie"] == {"secure": True, "httponly": False}
    assert seen["login"] == [302, "/inbox/"]
    assert seen["session_cookie"] == {"secure": True, "httponly": True}
    assert seen["header_trusted"] is True


def test_without_https_only_plain_http_is_served_and_the_header_is_not_trusted(ann):
    seen = https_probe(HTTPS_ONLY="0")
    assert seen["plain"] == [200, None]
    assert seen["proxied"] == [200, None]  # a client can't claim HTTPS with the header
    assert seen["csrf_cookie"] == {"secure": False, "httponly": False}
    assert seen["login"] == [302, "/inbox/"]
    assert seen["session_cookie"] == {"secure": False, "httponly": True}
    assert seen["header_trusted"] is False
