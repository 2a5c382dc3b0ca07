"""An organization's Slack webhook must be a Slack incoming webhook (SLACK_WEBHOOK_ALLOWED_PREFIXES,
https://hooks.slack.com/ by default): admin refuses anything else, so the server can't be made to
post to internal addresses. The test settings also allow http://127.0.0.1, the fake Slack's."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from supportdesk.desk.models import Organization

pytestmark = [pytest.mark.django_db(transaction=True)]

REFUSED = [
    "http://hooks.slack.com/services/T0/B0/x",  # not TLS
    "https://hooks.slack.com.evil.example/services/T0/B0/x",
    "https://evil.example/https://hooks.slack.com/services/T0/B0/x",
    "https://hooks.slack.com@evil.example/services/T0/B0/x",
    "https://user:pw@hooks.slack.com/services/T0/B0/x",
    "https://slack.com/services/T0/B0/x",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost:6379/",
    "http://10.0.0.5/internal",
    "http://127.0.0.1.nip.io/x",
    "http://[::1]:5432/",
    "ftp://hooks.slack.com/services/T0/B0/x",
]
ACCEPTED = [
    "https://hooks.slack.com/services/T0/B0/x",
    "https://HOOKS.SLACK.COM/services/T0/B0/x",
    "https://hooks.slack.com:443/services/T0/B0/x",
]


@pytest.fixture
def slack_only(settings):
    settings.SLACK_WEBHOOK_ALLOWED_PREFIXES = ["https://hooks.slack.com/"]  # the default


def organization_with(url: str) -> Organization:
    return Organization(name="Initech", slug="initech", slack_webhook_url=url)


@pytest.mark.parametrize("url", [*REFUSED, "http://127.0.0.1:8000/fake-slack"])
def test_only_slack_is_accepted_by_default(slack_only, url):
    with pytest.raises(ValidationError) as refused:
        organization_with(url).full_clean()
    [message] = refused.value.message_dict["slack_webhook_url"]
    assert message.startswith("Only Slack incoming webhooks are accepted")


@pytest.mark.parametrize("url", [*ACCEPTED, ""])
def test_slack_webhooks_are_accepted(slack_only, url):
    organization_with(url).full_clean()


def test_the_allow_list_is_a_setting(settings):
    settings.SLACK_WEBHOOK_ALLOWED_PREFIXES = ["https://hooks.slack.com/", "http://127.0.0.1"]
    organization_with("http://127.0.0.1:8001/fake-slack").full_clean()
    # Compared by parts, not as strings: these start with "http://127.0.0.1" but go elsewhere.
    for url in ["http://127.0.0.1.nip.io/x", "http://127.0.0.1:80@evil.example/",
                "http://127.0.0.1%2f@evil.example/"]:  # fmt: skip
        with pytest.raises(ValidationError):
            organization_with(url).full_clean()
    settings.SLACK_WEBHOOK_ALLOWED_PREFIXES = ["https://chat.example.com:8443/hooks/"]
    organization_with("https://chat.example.com:8443/hooks/abc").full_clean()
    for url in ["https://chat.example.com/hooks/abc", "https://chat.example.com:8443/other",
                "https://hooks.slack.com/services/T0/B0/x"]:  # fmt: skip
        with pytest.raises(ValidationError):
            organization_with(url).full_clean()


def test_admin_refuses_an_internal_address(slack_only, organization):
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    url = f"/admin/desk/organization/{organization.pk}/change/"
    form = {"name": organization.name, "slug": organization.slug, "grouping_window_hours": "24",
            "group_answers": "suggest", "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00"}  # fmt: skip
    refused = admin.post(url, {**form, "slack_webhook_url": "http://169.254.169.254/latest/"})
    assert refused.status_code == 200
    assert "Only Slack incoming webhooks are accepted" in refused.content.decode()
    organization.refresh_from_db()
    assert organization.slack_webhook_url == ""
    accepted = admin.post(url, {**form, "slack_webhook_url": ACCEPTED[0]})
    assert accepted.status_code == 302
    organization.refresh_from_db()
    assert organization.slack_webhook_url == ACCEPTED[0]
