"""The Slack app's settings in admin: the bot token and the signing secret are secrets like the
webhook (masked once saved, never rendered back, kept when left blank, replaced, removed); a
reviewer can be linked to their Slack account."""

import pytest
from django.contrib.auth.models import User

from supportdesk.desk.models import Organization, Reviewer
from tests.admin_pages import admin_url, logged_in, make_organization_staff
from tests.conftest import make_reviewer

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "xoxb-1234567890-0987654321-acmeBotTokenSecret"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FORM = {"name": "Acme Inc.", "grouping_window_hours": "24", "group_answers": "suggest",
        "created_at_0": "2026-01-01", "created_at_1": "00:00:00"}


@pytest.fixture
def staff(organization):
    Organization.objects.filter(pk=organization.pk).update(
        slack_bot_token=TOKEN, slack_signing_secret=SIGNING_SECRET, slack_channel="C0DESK"
    )
    return logged_in(make_organization_staff("ann", organization))


def saved(staff, organization, **fields) -> Organization:
    response = staff.post(admin_url(organization), {**FORM, "slack_channel": "C0DESK", **fields})
    assert response.status_code == 302, response.content.decode()
    return Organization.objects.get(pk=organization.pk)


def test_the_bot_token_and_signing_secret_are_never_shown(organization, staff):
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    for client in (staff, logged_in(root)):
        html = client.get(admin_url(organization)).content.decode()
        assert TOKEN not in html and TOKEN[5:-4] not in html
        assert SIGNING_SECRET not in html and SIGNING_SECRET[:-4] not in html
        assert f"Current: xoxb-…{TOKEN[-4:]}" in html and f"Current: …{SIGNING_SECRET[-4:]}" in html
        assert 'value="C0DESK"' in html  # the channel is no secret
        for field in ("slack_bot_token", "slack_signing_secret"):
            probe = {f"{field}__startswith": "x"}  # guessing it character by character
            assert client.get(admin_url(Organization, "changelist"), probe).status_code == 400


def test_a_blank_field_keeps_a_secret_a_new_one_replaces_it_a_checkbox_removes_it(
    organization, staff
):
    kept = saved(staff, organization)
    assert (kept.slack_bot_token, kept.slack_signing_secret) == (TOKEN, SIGNING_SECRET)
    new_token = "xoxb-2222-3333-replacedBotToken"
    replaced = saved(
        staff,
        organization,
        slack_bot_token=new_token,
        slack_signing_secret="0123456789abcdef0123456789abcdef",
    )
    assert replaced.slack_bot_token == new_token
    assert replaced.slack_signing_secret == "0123456789abcdef0123456789abcdef"
    removed = saved(
        staff, organization, remove_slack_bot_token="on", remove_slack_signing_secret="on"
    )
    assert (removed.slack_bot_token, removed.slack_signing_secret) == ("", "")


def test_a_refused_form_does_not_render_the_typed_secret_back(organization, staff):
    typed = "xoxp-a-user-token-not-a-bot-token"
    response = staff.post(
        admin_url(organization),
        {**FORM, "slack_bot_token": typed, "slack_signing_secret": "has spaces!"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "A bot token starts with xoxb-" in html
    assert "A signing secret is letters and digits" in html
    assert typed not in html and "has spaces!" not in html
    assert Organization.objects.get(pk=organization.pk).slack_bot_token == TOKEN


def test_a_reviewer_is_linked_to_their_slack_account_once_per_organization(organization, staff):
    bob = Reviewer.objects.get(user=make_reviewer("bob", organization))
    dee = Reviewer.objects.get(user=make_reviewer("dee", organization))
    form = {"user": bob.user_id, "organization": organization.pk}
    assert staff.post(admin_url(bob), {**form, "slack_user_id": " u0bob "}).status_code == 302
    assert Reviewer.objects.get(pk=bob.pk).slack_user_id == "U0BOB"
    bad = staff.post(admin_url(bob), {**form, "slack_user_id": "bob@example.com"})
    assert "A Slack member ID looks like U0123ABCD." in bad.content.decode()
    taken = staff.post(
        admin_url(dee),
        {"user": dee.user_id, "organization": organization.pk, "slack_user_id": "U0BOB"},
    )
    assert taken.status_code == 200 and Reviewer.objects.get(pk=dee.pk).slack_user_id == ""
