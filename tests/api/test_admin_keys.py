"""Keys in Django admin: a staff user of one organization cannot see, revoke or create the keys of
another."""

import re

import pytest
from django.contrib.auth.models import User

from supportdesk.api import services
from supportdesk.api.models import ApiKey, EventKey
from tests.admin_pages import admin_url, logged_in, make_organization_staff, select_options

pytestmark = pytest.mark.django_db(transaction=True)
# A key may end with "-" or "_": \b would not end it.
KEY = re.compile(r"sd(?:api|evt)_[0-9a-f]{8}_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")


@pytest.fixture
def acme_staff(organization):
    return make_organization_staff("ann", organization)


def test_a_staff_user_cannot_create_or_see_another_organizations_keys(
    acme_staff, organization, other_organization
):
    staff = logged_in(acme_staff)
    globex_key = services.key_create(organization=other_organization, name="globex sync").key
    globex_event_key = services.key_create(
        organization=other_organization, name="globex in", kind="event"
    ).key
    for model, globex in ((ApiKey, globex_key), (EventKey, globex_event_key)):
        form = staff.get(admin_url(model, "add")).content.decode()
        assert [value for value, _ in select_options(form, "organization")] == [
            "",
            str(organization.pk),
        ]
        refused = staff.post(
            admin_url(model, "add"), {"organization": other_organization.pk, "name": "mine now"}
        )
        assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
        assert not KEY.findall(refused.content.decode())
        assert not model.objects.filter(name="mine now").exists()

        listing = staff.get(admin_url(model, "changelist")).content.decode()
        assert globex.prefix not in listing and "Globex" not in listing
        assert staff.get(admin_url(globex)).status_code == 404

    staff.post(admin_url(ApiKey, "changelist"), {
        "action": "revoke_keys", "_selected_action": [globex_key.pk],
    })  # fmt: skip
    globex_key.refresh_from_db()
    assert globex_key.revoked_at is None

    # A superuser still creates keys for any organization.
    root = logged_in(User.objects.create_superuser("root", "root@example.com", "pw"))
    created = root.post(
        admin_url(ApiKey, "add"),
        {"organization": other_organization.pk, "name": "by root"},
        follow=True,
    )
    assert KEY.findall(created.content.decode())
    assert ApiKey.objects.get(name="by root").organization == other_organization
