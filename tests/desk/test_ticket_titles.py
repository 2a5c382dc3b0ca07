"""A ticket's title is one line, whatever channel created the ticket: it heads emails and Slack
messages, where a line break would start a header or a line of its own."""

import pytest

from supportdesk.api import services as api_services
from supportdesk.desk import services
from supportdesk.desk.errors import DeskError

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("title", "stored"),
    [
        ("Crash\r\nBcc: mallory@example.com", "Crash Bcc: mallory@example.com"),
        ("one\ntwo\rthree\r\n\r\nfour", "one two three four"),
        ("a \u2028 b\u2029c\x85d\x0be\x0cf\x1cg", "a b c d e f g"),
        ("\n  Leading and trailing  \n", "Leading and trailing"),
        ("tabs\tand  spaces", "tabs and spaces"),
    ],
)
def test_line_breaks_in_a_title_become_spaces(organization, title, stored):
    assert services.ticket_create(organization=organization, title=title).title == stored


def test_a_title_of_line_breaks_only_is_blank(organization):
    with pytest.raises(DeskError, match="title must not be blank"):
        services.ticket_create(organization=organization, title="\r\n\u2028\n")


def test_the_api_stores_one_line_titles(organization, client):
    key = api_services.key_create(organization=organization, name="test").plaintext
    response = client.post(
        "/api/tickets", {"title": "Checkout\nCc: everyone@example.com"},
        content_type="application/json", headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["title"] == "Checkout Cc: everyone@example.com"
