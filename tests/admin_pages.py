"""Helpers for tests of the Django admin as a staff user of one organization: the user, the URLs of
an object's pages, and what a rendered form offers."""

from html.parser import HTMLParser

from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from tests.conftest import make_reviewer

# Every permission of these apps: in the tests only the scoping may stop the staff user.
SCOPED_APPS = ["desk", "api", "durable", "auth"]


def make_organization_staff(username: str, organization) -> User:
    """A staff user (not a superuser) who is a reviewer of `organization`."""
    user = make_reviewer(username, organization)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=SCOPED_APPS))
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_url(obj_or_model, view: str = "change") -> str:
    """The admin URL of an object's page (change, delete, history) or a model's (changelist,
    add)."""
    opts = obj_or_model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
    if isinstance(obj_or_model, Model):
        return reverse(name, args=[quote(obj_or_model.pk)])
    return reverse(name)


class _FormChoices(HTMLParser):
    def __init__(self):
        super().__init__()
        self.options: dict[str, list[tuple[str, bool]]] = {}
        self.checkboxes: dict[str, list[str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self._select = attrs.get("name")
            self.options.setdefault(self._select, [])
        elif tag == "option" and self._select is not None:
            self.options[self._select].append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "input" and attrs.get("type") == "checkbox":
            self.checkboxes.setdefault(attrs.get("name"), []).append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def select_options(html: str, name: str) -> list[tuple[str, bool]]:
    """The (value, selected) of each <option> of the <select name=...>; KeyError if none."""
    parser = _FormChoices()
    parser.feed(html)
    return parser.options[name]


def checkbox_values(html: str, name: str) -> list[str]:
    parser = _FormChoices()
    parser.feed(html)
    return parser.checkboxes.get(name, [])
