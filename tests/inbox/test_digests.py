"""A flood of questions is summed up in a digest instead of one email and one Slack post each."""

import pytest
from django.core import mail

from supportdesk.desk import services
from supportdesk.inbox import digests
from supportdesk.inbox.models import Notification
from tests.inbox.test_notifications import FakeSlack

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slack(organization, settings):
    fake = FakeSlack()
    organization.slack_webhook_url = fake.url
    organization.save(update_fields=["slack_webhook_url"])
    yield fake
    fake.close()


def test_a_flood_of_questions_sends_a_few_then_one_digest(
    organization, ann, drain, slack, settings
):
    settings.NOTIFICATION_DIGEST_AFTER = 3
    for n in range(12):
        services.ticket_create(organization=organization, title=f"Crash #{n}", priority="critical")
    drain()
    notifications = list(Notification.objects.order_by("pk"))
    assert len(notifications) == 12 and {n.kind for n in notifications} == {"opened"}
    results = [digests.notification_send(n.pk) for n in notifications]
    assert [r.get("held", False) for r in results] == [False] * 3 + [True] * 9
    assert len(mail.outbox) == 3 and len(slack.posts) == 3
    assert digests.digests_send() == 1
    assert len(mail.outbox) == 4 and len(slack.posts) == 4
    digest = mail.outbox[-1]
    assert digest.subject == "[supportdesk] 9 new questions for Acme Inc."
    assert digest.body.count("/questions/") == 9
    singles = " ".join(email.subject for email in mail.outbox[:3])
    assert all(f"Crash #{n}" in singles + digest.body for n in range(12))
    assert slack.posts[-1]["text"].startswith("*9 new questions*")
    assert not Notification.objects.filter(sent_at=None).exists()
    assert digests.digests_send() == 0  # nothing twice


def test_a_few_questions_are_each_notified_on_their_own(organization, ann, drain, settings):
    settings.NOTIFICATION_DIGEST_AFTER = 3
    for n in range(3):
        services.ticket_create(organization=organization, title=f"Crash #{n}", priority="critical")
    drain()
    for notification in Notification.objects.all():
        assert "held" not in digests.notification_send(notification.pk)
    assert len(mail.outbox) == 3 and digests.digests_send() == 0
