"""Sign-in throttling (django-axes, configured in settings): the page a locked-out person sees, and
the user name the lockout is counted by."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

USERNAME_MAX_LENGTH = get_user_model()._meta.get_field("username").max_length


def login_locked_out(request: HttpRequest, *args) -> HttpResponse:
    """The answer to a sign-in while locked out, on the reviewers' and the admin's login alike."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(request, "registration/locked_out.html", {
        "minutes": max(1, round(seconds / 60)), "failure_limit": settings.AXES_FAILURE_LIMIT,
    }, status=429)  # fmt: skip
    response["Retry-After"] = str(seconds)
    return response


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The user name as typed, cut to the longest a user can have: Django's login form doesn't
    enforce that length, and a longer name would overflow axes' column on PostgreSQL (a 500)."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    if not isinstance(username, str):
        return None
    return username.replace("\x00", "")[:USERNAME_MAX_LENGTH]
