"""Reads of the desk: scoped to an organization where a caller acts for one."""

import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from supportdesk.desk.errors import NotFound
from supportdesk.desk.models import (
    Article,
    Organization,
    Question,
    QuestionGroup,
    QuestionStatus,
    ReleaseNote,
    Reviewer,
    Ticket,
)

_WORD = re.compile(r"[a-z0-9]{3,}")
STOP_WORDS = {"the", "and", "for", "with", "not", "our", "are", "but", "you", "when", "after"}


def organization_get(slug: str | None = None) -> Organization:
    """The named organization, or the only / first one when none is named (CLI convenience)."""
    organizations = Organization.objects.order_by("pk")
    found = organizations.filter(slug=slug).first() if slug else organizations.first()
    if found is None:
        raise NotFound(
            f"no organization with slug {slug!r}"
            if slug
            else "no organization exists yet; "
            "run `manage.py seed_demo` to create the demo organization"
        )
    return found


def ticket_get(ticket_id, *, organization: Organization | None = None) -> Ticket:
    tickets = Ticket.objects.select_related("organization")
    if organization is not None:
        tickets = tickets.filter(organization=organization)
    try:
        return tickets.get(pk=int(ticket_id))
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"no ticket with id {ticket_id}") from None


def question_get(question_id, *, organization: Organization | None = None) -> Question:
    questions = Question.objects.select_related("ticket", "ticket__organization", "run")
    if organization is not None:
        questions = questions.filter(ticket__organization=organization)
    try:
        return questions.get(pk=uuid.UUID(str(question_id)))
    except (Question.DoesNotExist, ValueError):
        raise NotFound(f"no question with id {question_id}") from None


def questions_pending(*, organization: Organization | None = None) -> QuerySet[Question]:
    """Requests that can still be answered: past its deadline a request waits out a short grace
    period for its run's timeout, but no answer is taken any more, so it is not listed."""
    questions = Question.objects.filter(
        status=QuestionStatus.PENDING, expires_at__gt=timezone.now()
    ).select_related("ticket")
    if organization is not None:
        questions = questions.filter(ticket__organization=organization)
    return questions.order_by("created_at")


def _keywords(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS][:12]


def articles_search(*, organization_id: int, query: str, limit: int = 3) -> list[Article]:
    """Articles ranked by how many of the query's keywords they contain."""
    words = _keywords(query)
    if not words:
        return []
    matches = Q()
    for word in words:
        matches |= Q(title__icontains=word) | Q(body__icontains=word) | Q(tags__icontains=word)
    candidates = Article.objects.filter(matches, organization_id=organization_id)[:50]

    def score(article: Article) -> int:
        text = f"{article.title} {article.tags} {article.body}".lower()
        return sum(word in text for word in words)

    return sorted(candidates, key=lambda a: (-score(a), a.title))[:limit]


def release_notes_latest(*, organization_id: int, query: str = "", limit: int = 3):
    notes = list(ReleaseNote.objects.filter(organization_id=organization_id)[:10])
    words = _keywords(query)
    if words:
        notes.sort(key=lambda n: -sum(w in n.notes.lower() for w in words))
    return notes[:limit]


def organization_concurrency(tenant: str) -> int | None:
    """How many runs of the organization behind an engine tenant may execute at once."""
    if not tenant.isdigit():
        return None  # not an organization's: the engine's own default
    limit = (
        Organization.objects.filter(pk=int(tenant))
        .values_list("max_concurrent_runs", flat=True)
        .first()
    )
    return limit if limit is not None else settings.ORGANIZATION_CONCURRENCY


def reviewer_for(user) -> Reviewer | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Reviewer.objects.select_related("organization", "user").filter(user=user).first()


def questions_answered_or_expired(*, organization: Organization, q: str = ""):
    """Requests no longer pending, newest first, matching the search `q` if one is given."""
    questions = (
        Question.objects.filter(ticket__organization=organization)
        .exclude(status=QuestionStatus.PENDING)
        .select_related("ticket", "answered_by_user")
    )
    return questions_search(questions, q).order_by("-created_at", "-pk")


def tickets_for(*, organization: Organization, status: str = "", priority: str = "",
                q: str = ""):  # fmt: skip
    tickets = Ticket.objects.filter(organization=organization).annotate(
        open_questions=Count("questions", filter=Q(questions__status=QuestionStatus.PENDING))
    )
    if status:
        tickets = tickets.filter(status=status)
    if priority:
        tickets = tickets.filter(priority=priority)
    return tickets_search(tickets, q).order_by("-created_at", "-pk")


def question_groups_for(*, organization: Organization | None, pending_only: bool = True):
    """Incidents (an organization's, or all for the CLI), newest first, with their counts and
    waiting questions."""
    pending = Q(questions__status=QuestionStatus.PENDING)
    groups = QuestionGroup.objects.annotate(
        pending=Count("questions", filter=pending), total=Count("questions")
    )
    if organization is not None:
        groups = groups.filter(organization=organization)
    if pending_only:
        groups = groups.filter(pending__gt=0)
    waiting = (Question.objects.filter(status=QuestionStatus.PENDING).select_related("ticket")
               .order_by("created_at"))  # fmt: skip
    return groups.prefetch_related(
        Prefetch("questions", queryset=waiting, to_attr="pending_questions")
    ).order_by("-created_at", "-pk")


def question_group_get(group_id, *, organization: Organization | None = None) -> QuestionGroup:
    groups = question_groups_for(organization=organization, pending_only=False)
    try:
        return groups.get(pk=int(group_id))
    except (QuestionGroup.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"no question group with id {group_id}") from None


def inbox_counts(pending: QuerySet[Question], condition: Q) -> dict:
    """How many of the pending requests the inbox's condition selects, and how many there are:
    one pass over them, not two."""
    counts = pending.order_by().aggregate(
        total_for_filter=Count("pk", filter=condition), total_pending=Count("pk")
    )
    return {key: value or 0 for key, value in counts.items()}


INBOX_PAGE_SIZE = 25  # a first page of a 10,000-request inbox stays under 50 KiB


@dataclass(frozen=True)
class InboxPage:
    """One page of an inbox: its requests in order, the cursor of the next page ("" when this is
    the last), the exact number pending for the inbox's filter and for the whole organization."""

    questions: list
    next_cursor: str
    total_for_filter: int
    total_pending: int
    window_end: tuple | None  # the sort key of the last request loaded, None if all are


def inbox_page(*, organization: Organization, filters, user_id: int, after: str = "",
               limit: int | None = None) -> InboxPage:  # fmt: skip
    """A page of the organization's pending requests as `filters` (an InboxFilters) select and
    order them, after the cursor `after` (a garbled cursor reads as the first page)."""
    limit = limit or INBOX_PAGE_SIZE
    pending = questions_pending(organization=organization)
    selected = filters.apply(pending, user_id=user_id)
    page = selected
    start = filters.parse_cursor(after) if after else None
    if start is not None:
        page = filters.after(selected, start)
    # Sort the keys alone, then read the page's rows: sorting thousands of whole rows (with their
    # tickets) to keep a few dozen is most of a large inbox's time.
    ids = list(page.values_list("pk", flat=True)[: limit + 1])
    rows = Question.objects.filter(pk__in=ids).select_related(
        "ticket", "claimed_by", "team", "assignee__user"
    )
    by_id = {row.pk: row for row in rows.prefetch_related("activity")}
    questions = [by_id[pk] for pk in ids if pk in by_id]
    more = len(questions) > limit
    questions = questions[:limit]
    end = filters.sort_key_of(questions[-1]) if more else None
    return InboxPage(
        questions=questions,
        next_cursor=filters.cursor(end) if more else "",
        **inbox_counts(pending, filters.condition(user_id=user_id)),
        window_end=end,
    )


SEARCH_MAX_LENGTH = 200
SEARCH_CONFIG = "english"
# What the full-text search reads; the GIN indexes of migration 0014 index these very expressions.
TICKET_SEARCH_FIELDS = ("title", "body", "customer")
QUESTION_SEARCH_FIELDS = ("question",)


def _matching(queryset: QuerySet, fields: tuple[str, ...], q: str) -> QuerySet:
    """Rows whose `fields` match the search: PostgreSQL's full text (through the GIN index of
    the same expression), elsewhere a simple case-insensitive substring match."""
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        vector = SearchVector(*fields, config=SEARCH_CONFIG)
        query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
        return queryset.annotate(_search=vector).filter(_search=query)
    match = Q()
    for field in fields:
        match |= Q(**{f"{field}__icontains": q})
    return queryset.filter(match)


def tickets_search(tickets: QuerySet[Ticket], q: str) -> QuerySet[Ticket]:
    """Tickets whose title, body or customer matches, or one of whose questions does."""
    q = q.strip()
    if not q:
        return tickets
    by_ticket = _matching(Ticket.objects.all(), TICKET_SEARCH_FIELDS, q).values("pk")
    by_question = _matching(Question.objects.all(), QUESTION_SEARCH_FIELDS, q).values("ticket_id")
    return tickets.filter(Q(pk__in=by_ticket) | Q(pk__in=by_question))


def questions_search(questions: QuerySet[Question], q: str) -> QuerySet[Question]:
    """Questions whose text matches, or whose ticket's title, body or customer does."""
    q = q.strip()
    if not q:
        return questions
    by_ticket = _matching(Ticket.objects.all(), TICKET_SEARCH_FIELDS, q).values("pk")
    by_question = _matching(Question.objects.all(), QUESTION_SEARCH_FIELDS, q).values("pk")
    return questions.filter(Q(ticket_id__in=by_ticket) | Q(pk__in=by_question))
