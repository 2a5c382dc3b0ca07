"""Production settings from the environment: `manage.py check --deploy` is clean with them."""

import secrets
import subprocess
import sys

from tests.conftest import ROOT


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "HTTPS_ONLY": "1",
        "ALLOWED_HOSTS": "desk.example.com",
        "SUPPORTDESK_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_development_defaults_are_flagged_by_check_deploy(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SUPPORTDESK_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr
