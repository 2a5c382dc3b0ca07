"""Static files served by the app itself under daphne, with DEBUG off as for a new user: the
project's and the apps' files answer 200, and path traversal attempts a plain 404 — no 500, no
traceback in the log."""

import http.client

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TRAVERSALS = [
    "/static/../manage.py",
    "/static/../../supportdesk/settings.py",
    "/static/css/../../../manage.py",
    "/static/..%2f..%2fmanage.py",
    "/static/%2e%2e/%2e%2e/manage.py",
    "/static/..%5c..%5cmanage.py",
    "/static/..\\\\..\\\\manage.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/css/app.css/..",
]


def get(app, path: str) -> tuple[int, bytes]:
    """GET exactly this path: no client-side normalization of dot segments."""
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("debug", ["0", "1"])
def test_static_files_answer_and_traversals_are_404s(live_app, debug):
    app = live_app({"DEBUG": debug})
    for path in ["/static/css/app.css", "/static/js/app.js", "/static/django_htmx/htmx-2.min.js",
                 "/static/ninja/swagger-ui-bundle.js", "/static/admin/css/base.css"]:  # fmt: skip
        status, body = get(app, path)
        assert status == 200 and body, path
    for path in TRAVERSALS:
        status, body = get(app, path)
        assert status == 404, (path, status)
        assert b"INSTALLED_APPS" not in body and b"SECRET_KEY" not in body
    log = app.output()
    assert "Traceback" not in log and "Internal Server Error" not in log, log
