"""Production settings from the environment: `manage.py check --deploy` is clean with them, and the
server refuses to start, in one line, with unsafe ones."""

import secrets
import subprocess
import sys

import pytest

from supportdesk.config import DEVELOPMENT_SECRET_KEY
from tests.conftest import ROOT, free_port


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
