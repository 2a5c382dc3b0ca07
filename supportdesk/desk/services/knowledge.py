"""Answers become knowledge: a reviewer saves an answered question's (or its group's) answer as a
knowledge-base article or a release-note entry, which the agents' searches find from then on."""

from datetime import date

from django.db import transaction

from supportdesk.desk.errors import Conflict, DeskError
from supportdesk.desk.models import (
    Article,
    Question,
    QuestionStatus,
    ReleaseNote,
    RequestActivity,
    RequestKind,
)
from supportdesk.desk.services.base import clean_text
from supportdesk.desk.similarity import words

KINDS = ("article", "release_note")


def knowledge_draft(question: Question) -> dict:
    """What the form starts with: the question as the title, the answer as the body, its
    distinctive words as the tags."""
    title = question.group.title if question.group_id else question.question
    keywords = sorted(words(f"{question.question} {question.ticket.title}"))[:10]
    return {
        "kind": "article",
        "title": " ".join(title.split())[:300],
        "body": question.answer,
        "tags": ", ".join(keywords)[:300],
        "version": "",
    }


def knowledge_from_answer(
    *,
    question: Question,
    kind: str,
    title: str,
    body: str,
    tags: str = "",
    version: str = "",
    actor: str,
) -> Article | ReleaseNote:
    """Save the answer of `question` as an article (`kind="article"`) or a release note of
    `version`; recorded on the question as its reviewer's doing."""
    if question.kind != RequestKind.QUESTION or question.status != QuestionStatus.ANSWERED:
        raise Conflict("only an answered question's answer can become knowledge")
    if kind not in KINDS:
        raise DeskError(f"kind must be article or release_note, not {kind!r}")
    title = clean_text(title, field="title", required=True, limit=300)
    body = clean_text(body, field="text", required=True)
    organization_id = question.ticket.organization_id
    with transaction.atomic():
        if kind == "article":
            tags = clean_text(tags, field="tags", required=False, limit=300)
            saved = Article.objects.create(organization_id=organization_id, title=title,
                                           body=body, tags=tags)  # fmt: skip
            what = f"article “{title}”"
        else:
            version = clean_text(version, field="version", required=True, limit=40)
            saved = ReleaseNote.objects.create(organization_id=organization_id, version=version,
                                               released_on=date.today(),
                                               notes=f"{title}: {body}")  # fmt: skip
            what = f"release note {version}"
        RequestActivity.objects.create(question=question, actor=actor,
                                       action="saved as knowledge", detail=what)  # fmt: skip
    return saved
