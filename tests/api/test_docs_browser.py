"""/api/docs in a real browser (Playwright driving Debian's chromium) against `manage.py serve`:
Swagger UI renders every operation, and the page loads nothing from another host."""

import os
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.browser]
# Playwright's sync API runs an event loop in this thread; the database teardown is plain sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_the_docs_render_from_this_server_only(live_app, browser):
    app = live_app()
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{app.url}/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    page.close()
    schema = httpx.get(f"{app.url}/api/openapi.json").json()
    operations = sorted(path for path, methods in schema["paths"].items() for _ in methods)
    assert "/api/questions/{question_id}/answer" in paths and sorted(paths) == operations
    assert f"{app.url}/api/openapi.json" in requested
    assert {urlsplit(url).netloc for url in requested} == {urlsplit(app.url).netloc}
