"""Incidents through the API: the groups with their waiting tickets, one answer for all of them,
what wasn't answered and why, and no reach into another organization's groups."""

import pytest

from supportdesk.desk.models import Channel, Question, QuestionStatus
from tests.api.conftest import post_json
from tests.desk.test_groups import grouped_three

pytestmark = pytest.mark.django_db(transaction=True)


def test_groups_are_listed_with_their_waiting_tickets(api, organization):
    group, questions = grouped_three(organization)
    page = api.get("/api/question-groups").json()
    [item] = page["items"]
    assert (item["id"], item["pending"], item["total"]) == (group.pk, 3, 3)
    assert item["ticket_ids"] == [q.ticket_id for q in questions]
    assert item["title"].startswith("Is there a known crash on launch for iOS 17")
    [question] = [q for q in api.get("/api/questions").json()["items"]
                  if q["id"] == str(questions[0].pk)]  # fmt: skip
    assert question["group_id"] == group.pk and question["answered_with_group"] is False


def test_one_answer_for_the_group_then_409(api, organization):
    group, questions = grouped_three(organization)
    Question.objects.filter(pk=questions[2].pk).update(status=QuestionStatus.CANCELLED)
    response = post_json(api, f"/api/question-groups/{group.pk}/answer",
                         {"answer": "Known; 17.2 fixes it.", "answered_by": "Jo"})  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted(body["answered"]) == sorted(str(q.pk) for q in questions[:2])
    assert body["group"]["pending"] == 0 and body["group"]["answer"] == "Known; 17.2 fixes it."
    for question in questions[:2]:
        question.refresh_from_db()
        assert (question.answered_via, question.answered_with_group) == (Channel.API, True)
    again = post_json(api, f"/api/question-groups/{group.pk}/answer",
                      {"answer": "again", "answered_by": "Jo"})  # fmt: skip
    assert again.status_code == 409
    assert "no question of this group is open" in again.json()["detail"]
    assert api.get("/api/question-groups").json()["count"] == 0  # none waiting
    assert api.get("/api/question-groups?pending=false").json()["count"] == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"answer": "", "answered_by": "Jo"}, 422),
        ({"answered_by": "Jo"}, 422),
        ({"answer": "x" * 20_001, "answered_by": "Jo"}, 422),
        ({"answer": "a\x00b", "answered_by": "Jo"}, 400),
    ],
)
def test_bad_answers_are_refused_and_answer_nothing(api, organization, body, status):
    group, _ = grouped_three(organization)
    response = post_json(api, f"/api/question-groups/{group.pk}/answer", body)
    assert response.status_code == status and response.json()["detail"]
    assert not Question.objects.filter(status=QuestionStatus.ANSWERED).exists()


def test_another_organizations_group_is_404(other_api, organization):
    group, _ = grouped_three(organization)
    assert other_api.get("/api/question-groups").json()["count"] == 0
    response = post_json(other_api, f"/api/question-groups/{group.pk}/answer",
                         {"answer": "x", "answered_by": "Eve"})  # fmt: skip
    assert response.status_code == 404
    assert not Question.objects.filter(status=QuestionStatus.ANSWERED).exists()
