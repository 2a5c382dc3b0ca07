"""Incidents: similar questions grouped as they open, answered once for the whole group, and the
group's answer offered to the questions that join it later (suggested, or given automatically).

Grouping runs as a step of `ask_developer` (a replay never regroups); a group never spans
organizations (candidates are the organization's own questions); answering a group answers each
of its open questions exactly once (each under its ticket's lock, as a single answer is).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from supportdesk import durable
from supportdesk.desk import observers, similarity
from supportdesk.desk.errors import Conflict, DeskError
from supportdesk.desk.models import (
    Channel,
    GroupAnswerOffer,
    Organization,
    Question,
    QuestionGroup,
    QuestionStatus,
    RequestActivity,
    RequestKind,
)
from supportdesk.desk.services.base import clean_text, organization_tenant
from supportdesk.desk.services.questions import answer_locked, question_closed_message
from supportdesk.desk.services.status import lock_tickets

logger = logging.getLogger(__name__)

CANDIDATES = 500  # the most recent questions a new one is compared with


def similarity_in_use() -> similarity.Similarity:
    if settings.EMBEDDINGS_URL:
        return similarity.Embeddings(settings.EMBEDDINGS_URL, settings.EMBEDDINGS_MODEL,
                                     settings.EMBEDDINGS_API_KEY)  # fmt: skip
    return similarity.TokenOverlap()


def grouping_threshold(organization: Organization) -> float:
    if organization.grouping_threshold is not None:
        return organization.grouping_threshold
    return settings.EMBEDDINGS_THRESHOLD if settings.EMBEDDINGS_URL else 0.2


def question_grouping(*, organization_id: int, ticket_id: int, question: str) -> dict:
    """The group a new question of `ticket_id` joins, and the answer it is offered, if any:
    `{"group_id", "group_title", "offer": "suggest" | "auto" | "", "answer"}`.

    Compared with the organization's open questions and those answered in its window; the most
    similar one at or above the threshold decides (its group, or a new group of the two).
    Serialized per organization, so that two similar questions opening at once form one group.
    """
    from supportdesk.desk.models import Ticket

    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=organization_id)
        ticket = Ticket.objects.get(pk=ticket_id, organization=organization)
        threshold = grouping_threshold(organization)
        nothing = {"group_id": None, "group_title": "", "offer": "", "answer": ""}
        if threshold > 1:
            return nothing
        since = timezone.now() - timedelta(hours=organization.grouping_window_hours)
        candidates = list(
            Question.objects.filter(ticket__organization=organization, kind=RequestKind.QUESTION)
            .filter(Q(status=QuestionStatus.PENDING) | Q(answered_at__gte=since))
            .exclude(ticket_id=ticket_id)
            .select_related("ticket", "group")
            .order_by("-created_at")[:CANDIDATES]
        )
        new = similarity.RequestText(question, ticket.title, ticket.body)
        texts = [similarity.RequestText(c.question, c.ticket.title, c.ticket.body)
                 for c in candidates]  # fmt: skip
        try:
            scores = similarity_in_use().scores(new, texts)
        except (OSError, ValueError, KeyError, TypeError):
            # The embeddings endpoint is down or answers nonsense: grouping by words beats a
            # failed run (and a question nobody sees).
            logger.warning("embeddings failed; grouping by word overlap", exc_info=True)
            scores, threshold = similarity.TokenOverlap().scores(new, texts), 0.2
        ranked = sorted(zip(scores, candidates, strict=True), key=lambda pair: -pair[0])
        if not ranked or ranked[0][0] < threshold:
            return nothing
        best = ranked[0][1]
        group = best.group or _group_of(best)
        return {
            "group_id": group.pk,
            "group_title": group.title,
            **_offer(group, organization, since),
        }


def _group_of(question: Question) -> QuestionGroup:
    """A new group, started by `question` (with its answer, if it has one)."""
    group = QuestionGroup.objects.create(
        organization_id=question.ticket.organization_id,
        title=one_line_of(question.question, 300),
        answer=question.answer if question.status == QuestionStatus.ANSWERED else "",
        answered_by=question.answered_by if question.status == QuestionStatus.ANSWERED else "",
        answered_at=question.answered_at if question.status == QuestionStatus.ANSWERED else None,
    )
    Question.objects.filter(pk=question.pk).update(group=group)
    return group


def _offer(group: QuestionGroup, organization: Organization, since) -> dict:
    if not group.answer or group.answered_at is None or group.answered_at < since:
        return {"offer": "", "answer": ""}
    if organization.group_answers == GroupAnswerOffer.OFF:
        return {"offer": "", "answer": ""}
    return {"offer": organization.group_answers, "answer": group.answer}


def question_answered_automatically(
    *,
    question_id,
    ticket_id: int,
    run_id,
    agent: str,
    question: str,
    context: str,
    group_id: int,
    answer: str,
) -> Question:
    """The organization answers with its group's recent answer: the question is recorded as
    asked and answered at once, through `Channel.AUTO`, and no one is asked."""
    group = QuestionGroup.objects.get(pk=group_id)
    now = timezone.now()
    with transaction.atomic():
        record = Question.objects.create(
            id=question_id, ticket_id=ticket_id, run_id=run_id, agent=agent,
            question=clean_text(question, field="question", required=True),
            context=clean_text(context, field="context", required=False),
            expires_at=now, status=QuestionStatus.ANSWERED, answer=answer,
            answered_by=f"the answer to “{one_line_of(group.title, 120)}”",
            answered_at=now, closed_at=now, answered_via=Channel.AUTO, group=group,
            answered_with_group=True,
        )  # fmt: skip
        RequestActivity.objects.create(
            question=record, actor="grouping", action="answered automatically",
            detail=f"with the group's answer by {group.answered_by or 'its reviewer'}",
        )  # fmt: skip
        observers.announce(observers.QUESTION_CHANGED, record.pk)
    return record


@dataclass
class GroupAnswered:
    """What answering a group did: the questions answered, and those that weren't, and why."""

    group: QuestionGroup
    answered: list[Question] = field(default_factory=list)
    skipped: list[tuple[Question, str]] = field(default_factory=list)


def group_answer(
    *,
    group: QuestionGroup,
    answer: str,
    answered_by: str,
    user: User | None = None,
    channel: str = Channel.WEB,
    key_name: str = "",
) -> GroupAnswered:
    """Answer every open question of the group, each exactly once, in one transaction: each run
    resumes with this answer. A question answered, expired or cancelled meanwhile is reported,
    not answered again. Refused if none is open."""
    answer = clean_text(answer, field="answer", required=True)
    answered_by = clean_text(answered_by, field="answered by", required=True, limit=200)
    if channel not in Channel.values:
        raise DeskError(f"unknown channel {channel!r}")
    result = GroupAnswered(group=group)
    with transaction.atomic():
        members = list(group.questions.filter(status=QuestionStatus.PENDING)
                       .select_related("ticket"))  # fmt: skip
        lock_tickets(*{member.ticket_id for member in members})
        events = []
        for member in members:
            event = answer_locked(member, answer=answer, answered_by=answered_by, user=user,
                                  channel=channel, key_name=key_name, with_group=True)  # fmt: skip
            if event is None:
                result.skipped.append((member, question_closed_message(member)))
            else:
                events.append(event)
                result.answered.append(member)
        if not events:
            raise Conflict("no question of this group is open any more: nothing was answered")
        durable.send_events(events, tenant=organization_tenant(group.organization_id))
        for member in result.answered:  # after the events: the runs resume first
            observers.announce(observers.QUESTION_CHANGED, member.pk)
        QuestionGroup.objects.filter(pk=group.pk).update(
            answer=answer, answered_by=answered_by, answered_by_user=user,
            answered_at=timezone.now(),
        )  # fmt: skip
        group.refresh_from_db()
    return result


def group_remove_question(*, question: Question, actor: str) -> Question:
    """Take an open question out of its group: it stays pending on its own."""
    with transaction.atomic():
        lock_tickets(question.ticket_id)
        question.refresh_from_db()
        if question.group_id is None:
            raise Conflict("this question is in no group")
        if question.status != QuestionStatus.PENDING:
            raise Conflict(question_closed_message(question))
        title = question.group.title
        Question.objects.filter(pk=question.pk).update(group=None)
        RequestActivity.objects.create(question=question, actor=actor, action="ungrouped",
                                       detail=f"from “{one_line_of(title, 120)}”")  # fmt: skip
        observers.announce(observers.QUESTION_CHANGED, question.pk)
        question.refresh_from_db()
    return question


def group_suggestion(question: Question) -> str:
    """The answer suggested to the reviewer of a pending question: its group's recent answer,
    where the organization suggests (else "")."""
    group = question.group
    if group is None or not group.answer or question.status != QuestionStatus.PENDING:
        return ""
    organization = question.ticket.organization
    since = timezone.now() - timedelta(hours=organization.grouping_window_hours)
    offer = _offer(group, organization, since)
    return offer["answer"] if offer["offer"] == GroupAnswerOffer.SUGGEST else ""



def one_line_of(text: str, limit: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
