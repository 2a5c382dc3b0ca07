"""Settings fail closed: DEBUG is off unless asked for, and the secret key comes from the
environment or the data dir's secret file (scripts/setup writes it), never a public default."""

import subprocess
import sys

import httpx
import pytest

from supportdesk.config import DEVELOPMENT_SECRET_KEY
from tests.conftest import ROOT


def settings_of(env: dict) -> subprocess.CompletedProcess:
    """What the project's settings resolve to in a fresh process with only this environment."""
    code = (
        "import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'supportdesk.settings'); "
        "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_debug_is_off_by_default_and_the_secret_file_is_used(tmp_path):
    (tmp_path / "secret_key").write_text("k" * 30 + "0123456789abcdefghij\n")
    result = settings_of({"SUPPORTDESK_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "k" * 30 + "0123456789abcdefghij"]


def test_the_environment_wins_over_the_secret_file(tmp_path):
    (tmp_path / "secret_key").write_text("f" * 30 + "0123456789abcdefghij\n")
    key = "e" * 30 + "0123456789abcdefghij"
    result = settings_of({"SUPPORTDESK_DATA_DIR": str(tmp_path), "SECRET_KEY": key})
    assert result.stdout.split() == ["False", key]


def test_only_debug_falls_back_to_the_development_key(tmp_path):
    result = settings_of({"SUPPORTDESK_DATA_DIR": str(tmp_path), "DEBUG": "1"})
    assert result.stdout.split() == ["True", DEVELOPMENT_SECRET_KEY]
    result = settings_of({"SUPPORTDESK_DATA_DIR": str(tmp_path)})  # plain Python: a traceback
    assert result.returncode != 0
    assert result.stderr.splitlines()[-1] == (
        "supportdesk.config.UnsafeSettings: DEBUG is off and no SECRET_KEY is set: set SECRET_KEY "
        "(50+ random characters) in the environment, or run scripts/setup, which writes one to "
        f"{tmp_path / 'secret_key'}"
    )


@pytest.mark.parametrize("command", [["check"], ["migrate", "--noinput"], ["seed_demo"]])
def test_manage_py_refuses_in_one_line_without_a_secret_key(tmp_path, command):
    result = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SUPPORTDESK_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("supportdesk refuses to start: DEBUG is off and no SECRET_KEY is set")


@pytest.mark.django_db(transaction=True)
def test_the_served_app_shows_no_debug_pages(live_app):
    app = live_app()  # the environment has no DEBUG: the default
    response = httpx.get(f"{app.url}/no-such-page/")
    assert response.status_code == 404
    assert "Not found" in response.text
    assert "URLconf" not in response.text and "urlpatterns" not in response.text.lower()
