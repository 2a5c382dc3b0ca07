"""The demo reviewer demo / demo is for trying supportdesk out: with DEBUG off, `seed_demo` refuses
unless told this is a trial (`--trial`: scripts/setup passes it for the embedded default only)."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from supportdesk.desk.models import Organization

pytestmark = pytest.mark.django_db(transaction=True)


def test_with_debug_off_seed_demo_refuses_and_creates_nothing(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="with DEBUG off it refuses unless you pass --trial"):
        call_command("seed_demo")
    assert not User.objects.filter(username="demo").exists()
    assert not Organization.objects.exists()


def test_a_trial_gets_the_demo_reviewer(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--trial")
    request = RequestFactory().post("/accounts/login/")
    user = authenticate(request, username="demo", password="demo")
    assert user is not None and user.is_superuser and user.reviewer.organization.slug == "acme"


def test_with_debug_on_no_flag_is_needed(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert User.objects.filter(username="demo").exists()
