import pytest
from django.contrib.auth.models import User

from supportdesk.desk import services
from supportdesk.desk.demo_data import demo_seed
from supportdesk.desk.models import Organization, Question, Reviewer

XSS = "<script>alert(1)</script>"


def make_reviewer(username: str, organization: Organization, **names) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "pw", **names)
    Reviewer.objects.create(user=user, organization=organization)
    return user


@pytest.fixture
def organization(transactional_db):
    return demo_seed()


@pytest.fixture
def other_organization(transactional_db):
    return demo_seed(slug="globex", name="Globex")


@pytest.fixture
def ann(organization):
    return make_reviewer("ann", organization, first_name="Ann", last_name="Lee")


@pytest.fixture
def bob(organization):
    return make_reviewer("bob", organization, first_name="Bob", last_name="Ray")


@pytest.fixture
def carol(other_organization):
    return make_reviewer("carol", other_organization, first_name="Carol", last_name="Kim")


@pytest.fixture
def ask(drain):
    """A critical ticket whose run waits on its question; returns the question."""

    def ask_question(organization, title="The app crashes on launch", **fields) -> Question:
        ticket = services.ticket_create(
            organization=organization, title=title, priority="critical", **fields
        )
        drain()
        return ticket.questions.get()

    return ask_question
