"""The Content-Security-Policy: every page sends it (no inline script or style, no eval, this
site only, its own WebSocket), the templates keep to it, and in a real browser nothing breaks it
while the inbox works live, nor on the admin and the API docs."""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from supportdesk.desk import services
from supportdesk.desk.models import Question
from tests.conftest import ROOT, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API and the ORM
TIMEOUT_MS = 15_000


def policy_of(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in header.split(";"))}


def test_every_kind_of_page_sends_the_policy(ann, ask, organization):
    question = ask(organization)
    reviewer = Client()
    reviewer.force_login(ann)
    pages = [(Client(), "/accounts/login/"), (Client(), "/admin/login/"),
             (Client(), "/api/docs"), (Client(), "/no-such-page/"),
             (reviewer, "/inbox/"), (reviewer, f"/questions/{question.pk}/")]  # fmt: skip
    for client, url in pages:
        policy = policy_of(client.get(url))
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["connect-src"] == ["'self'", "ws://testserver"], url


def test_a_secure_request_names_the_wss_origin(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    secure = {"X-Forwarded-Proto": "https", "Host": "testserver"}
    response = Client().get("/accounts/login/", headers=secure)
    assert policy_of(response)["connect-src"] == ["'self'", "wss://testserver"]


TEMPLATE_DIRS = [ROOT / "templates", *sorted((ROOT / "supportdesk").glob("**/templates"))]
INLINE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    "hx-on attribute": re.compile(r"\shx-on", re.I),
    "style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.I),
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize(
    "template",
    [path for folder in TEMPLATE_DIRS for path in sorted(folder.glob("**/*.html"))],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_templates_have_nothing_inline_the_policy_would_block(template: Path):
    text = template.read_text()
    found = [kind for kind, pattern in INLINE.items() if pattern.search(text)]
    assert found == [], f"{template.relative_to(ROOT)}: {found}"


def test_htmx_is_told_not_to_inject_styles_or_eval(ann):
    client = Client()
    client.force_login(ann)
    page = client.get("/inbox/").content.decode()
    assert (
        '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, '
        '"allowEval": false, "allowScriptTags": false}\'>'
    ) in page


# --- in a real browser ---------------------------------------------------------------------------
@pytest.fixture
def app(live_app, organization):
    return live_app({"ANTHROPIC_API_KEY": ""})


class Violations:
    """Every CSP violation the browser reports, from the console and the page's own event."""

    def __init__(self, context):
        self.seen: list[str] = []
        context.expose_function("reportViolation", lambda text: self.seen.append(text))
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => window.reportViolation("
            "`${e.violatedDirective} blocked ${e.blockedURI} at ${document.location.pathname}`))"
        )
        self.context = context

    def watch(self, page) -> None:
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda message: self.seen.append(message.text)
                if "Content Security Policy" in message.text else None)  # fmt: skip
        page.on("pageerror", lambda error: self.seen.append(f"page error: {error}"))


def signed_in_context(browser, app, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": app.url}])  # fmt: skip
    return context


@pytest.mark.slow
@pytest.mark.browser
def test_the_inbox_works_live_without_a_violation(browser, app, organization, ann):
    from playwright.sync_api import expect

    context = signed_in_context(browser, app, ann)
    violations = Violations(context)
    page = context.new_page()
    violations.watch(page)

    response = page.goto(f"{app.url}/inbox/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("#live-status.on")  # the WebSocket is open: connect-src allows it
    ticket = services.ticket_create(organization=organization, title="Checkout crashes",
                                    priority="critical")  # fmt: skip
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())
    card = page.locator(f"#question-{question.pk}")
    expect(card).to_contain_text("Checkout crashes")  # pushed live
    expect(card.locator(".countdown")).to_contain_text("left")  # app.js runs

    page.select_option("select[name=priority]", "critical")  # applies on change, via app.js
    page.wait_for_url(re.compile(r"priority=critical"))
    page.wait_for_selector("#live-status.on")
    card.get_by_role("link", name="Answer").click()
    page.wait_for_url(re.compile(r"/questions/"))
    page.fill("#answer", "Fixed in 2.4.2.")
    page.get_by_role("button", name="Send answer and resume the run").click()
    page.wait_for_url(re.compile(r"/inbox/"))
    expect(page.locator(".flash")).to_contain_text("Answered")

    page.goto(f"{app.url}/tickets/{ticket.pk}/")
    expect(page.locator(".reply")).to_contain_text("Fixed in 2.4.2")  # pushed over its socket
    page.goto(f"{app.url}/tickets/")
    page.select_option("select[name=status]", "resolved")
    page.wait_for_url(re.compile(r"status=resolved"))
    assert violations.seen == []

    # The watch works: an inline script is blocked and reported.
    page.evaluate("document.body.appendChild(document.createElement('script')).text = '1'")
    wait_until(lambda: violations.seen, timeout=5)
    context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_sign_in_admin_and_api_docs_without_a_violation(browser, app, organization):
    ticket = services.ticket_create(organization=organization, title="Crash", priority="critical")
    question = wait_until(lambda: Question.objects.filter(ticket=ticket).first())  # app's worker
    User.objects.create_superuser("root", "root@example.com", "pw")
    context = browser.new_context()
    violations = Violations(context)
    page = context.new_page()
    violations.watch(page)

    page.goto(f"{app.url}/admin/login/")
    page.wait_for_selector("#id_username")
    page.goto(f"{app.url}/accounts/login/?next=/admin/")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", "pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/admin/$"))
    admin_pages = [
        "/admin/desk/ticket/",
        f"/admin/desk/ticket/{question.ticket_id}/change/",
        f"/admin/desk/organization/{organization.pk}/change/",
        f"/admin/desk/question/{question.pk}/change/",
        "/admin/auth/user/add/",
    ]
    for path in admin_pages:
        page.goto(app.url + path)
        page.wait_for_load_state("networkidle")
    page.goto(f"{app.url}/api/docs")
    page.wait_for_selector(".opblock-summary-path")
    page.locator(".opblock-summary-path").first.click()  # an operation opens
    page.wait_for_selector(".opblock-body")
    assert violations.seen == []
    context.close()
