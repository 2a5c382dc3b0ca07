"""Fixtures shared by the whole suite: the engine driven in-process, and real worker processes."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.models import Q
from django.test import TransactionTestCase
from django.utils import timezone

from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Organization, Question, Reviewer

ROOT = Path(__file__).resolve().parent.parent


# --- a quicker flush after each transactional test ----------------------------------------------
# Django's TransactionTestCase empties every table after each test (TRUNCATE on PostgreSQL, slow
# there), then emits post_migrate, which creates the content types and permissions again: most of
# the time of most tests here. The same end state, quicker: every table emptied with DELETE in one
# transaction, except the content types and permissions, kept when they are exactly as the last
# full flush left them (else a full flush runs, as Django's).
_KEPT_TABLES = ("django_content_type", "auth_permission")
_kept_rows: dict[str, tuple] = {}
_flushed_tables: dict[str, list[str]] = {}
_django_fixture_teardown = TransactionTestCase._fixture_teardown


def _kept_state(db_name: str) -> tuple:
    conn = connections[db_name]
    with conn.cursor() as cursor:
        state = []
        for table in _KEPT_TABLES:
            cursor.execute(f"SELECT * FROM {conn.ops.quote_name(table)} ORDER BY id")
            state.append(tuple(cursor.fetchall()))
    return tuple(state)


def _quick_fixture_teardown(self) -> None:
    if self.available_apps is not None or self.serialized_rollback:
        return _django_fixture_teardown(self)
    for db_name in self._databases_names(include_mirrors=False):
        if db_name in _kept_rows and _kept_rows[db_name] == _kept_state(db_name):
            conn = connections[db_name]
            if db_name not in _flushed_tables:
                _flushed_tables[db_name] = [
                    table
                    for table in conn.introspection.django_table_names(
                        only_existing=True, include_views=False
                    )
                    if table not in _KEPT_TABLES
                ]
            # Foreign keys are deferred (Django creates them so): any order, checked at commit.
            with transaction.atomic(using=db_name), conn.cursor() as cursor:
                for table in _flushed_tables[db_name]:
                    cursor.execute(f"DELETE FROM {conn.ops.quote_name(table)}")
        else:
            call_command(
                "flush", verbosity=0, interactive=False, database=db_name, reset_sequences=False
            )
            _kept_rows[db_name] = _kept_state(db_name)


TransactionTestCase._fixture_teardown = _quick_fixture_teardown


@pytest.fixture
def side_effect_log(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "side-effects.log"
    monkeypatch.setenv("SIDE_EFFECT_LOG", str(path))
    return path


@pytest.fixture
def drain() -> Callable[[], int]:
    """Execute runnable runs in this thread, as the Huey task would, until none is left."""
    from supportdesk.durable.engine import execute_run
    from supportdesk.durable.models import Run, RunStatus

    def run_until_idle(max_rounds: int = 10_000) -> int:
        executed = 0
        for _ in range(max_rounds):
            now = timezone.now()
            runnable = list(
                Run.objects.filter(
                    Q(status=RunStatus.QUEUED)
                    | Q(status__in=[RunStatus.SLEEPING, RunStatus.RETRYING], wake_at__lte=now)
                ).values_list("pk", flat=True)
            )
            if not runnable:
                return executed
            for run_id in runnable:
                execute_run(run_id)
                executed += 1
        raise AssertionError("runs did not settle")

    return run_until_idle


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float = 20, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def in_threads(*targets: Callable[[], object]) -> list[BaseException]:
    """Start the targets together (a barrier) in threads of their own, each with its own database
    connection, and return what they raised."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrapped(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:  # collected for the test to assert on
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def worker_environment(extra: dict | None = None) -> dict:
    """The environment of a worker process sharing this test's database and queue."""
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        database_url = f"sqlite:///{settings_dict['NAME']}"
    else:
        database_url = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
            f"/{settings_dict['NAME']}"
        )
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.update(extra or {})
    return env


class WorkerProcess:
    """A real `manage.py run_huey` consumer in its own process."""

    def __init__(self, workers: int = 2, extra_env: dict | None = None):
        self.log = ROOT / "var" / "test" / f"worker-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_huey", "-w", str(workers), "-k", "thread",
             "-d", "0.01", "-m", "0.05"],
            cwd=ROOT,
            env=worker_environment(extra_env),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def output(self) -> str:
        """What the worker printed and logged so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(transactional_db) -> Iterator[Callable[..., WorkerProcess]]:
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    workers: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        worker = WorkerProcess(**kwargs)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


class LiveApp:
    """`manage.py serve` in its own process, and the CLI run against the same database."""

    def __init__(self, env: dict):
        self.env = worker_environment({"EMBEDDED_WORKER": "1", **env})
        self.port = free_port()
        self.log = ROOT / "var" / "test" / f"serve-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(self.port)],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until(self._listening)
        self.url = f"http://127.0.0.1:{self.port}"

    def _listening(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def output(self) -> str:
        """What the server printed and logged so far."""
        return self.log.read_text(errors="replace")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=10)


@pytest.fixture
def live_app(transactional_db):
    """Start the app (`manage.py serve`, embedded worker) on this test's database."""
    from huey.contrib.djhuey import HUEY

    HUEY.flush()
    apps: list[LiveApp] = []

    def start(env: dict | None = None) -> LiveApp:
        apps.append(LiveApp(env or {}))
        return apps[-1]

    yield start
    for app in apps:
        app.stop()


# --- the desk: organizations, reviewers, a question waiting ------------------------------------
XSS = "<script>alert(1)</script>"


def make_reviewer(username: str, organization: Organization, **names) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", **names)
    Reviewer.objects.create(user=user, organization=organization)
    return user


@pytest.fixture
def organization(transactional_db):
    """The demo organization, but without the demo's approval of replies on critical tickets:
    most tests are about something else. `approving_organization` has it (the demo's default)."""
    return demo_seed(approvals=False)


@pytest.fixture
def approving_organization(transactional_db):
    return demo_seed()


@pytest.fixture
def other_organization(transactional_db):
    return demo_seed(slug="globex", name="Globex", approvals=False)


@pytest.fixture
def ann(organization):
    return make_reviewer("ann", organization, first_name="Ann", last_name="Lee")


@pytest.fixture
def bob(organization):
    return make_reviewer("bob", organization, first_name="Bob", last_name="Ray")


@pytest.fixture
def carol(other_organization):
    return make_reviewer("carol", other_organization, first_name="Carol", last_name="Kim")


@pytest.fixture
def ask(drain):
    """A critical ticket whose run waits on its question; returns the question."""

    def ask_question(organization, title="The app crashes on launch", **fields) -> Question:
        ticket = services.ticket_create(
            organization=organization, title=title, priority="critical", **fields
        )
        drain()
        return ticket.questions.get()

    return ask_question


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright (which can't download browsers here)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of browser tests
    # (and their fixtures' teardown) are plain sync code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield browser
        browser.close()
