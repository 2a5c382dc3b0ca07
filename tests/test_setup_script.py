"""scripts/setup on a fresh data dir: a private random secret key, and the demo / demo superuser
for the embedded trial only — never with a DATABASE_URL or behind TLS."""

import os
import sqlite3
import stat
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def setup(data_dir, **env) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["scripts/setup"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": os.environ["PATH"], "SUPPORTDESK_DATA_DIR": str(data_dir), **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def demo_users(database) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT username, is_superuser FROM auth_user WHERE username = 'demo'"
        ).fetchall()


def test_the_embedded_default_gets_a_secret_key_and_the_demo(tmp_path):
    result = setup(tmp_path)
    assert "sign in as demo / demo" in result.stdout
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 50
    assert demo_users(tmp_path / "supportdesk.sqlite3") == [("demo", 1)]
    key = key_file.read_text()
    setup(tmp_path)  # run again: the key stays
    assert key_file.read_text() == key


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "sqlite:///{tmp}/real.sqlite3"},
        {"HTTPS_ONLY": "1"},
    ],
)
def test_no_demo_user_on_a_real_database_or_behind_tls(tmp_path, env):
    env = {name: value.replace("{tmp}", str(tmp_path)) for name, value in env.items()}
    result = setup(tmp_path, **env)
    assert "demo / demo" not in result.stdout and "createsuperuser" in result.stdout
    database = tmp_path / ("real.sqlite3" if "DATABASE_URL" in env else "supportdesk.sqlite3")
    assert demo_users(database) == []
