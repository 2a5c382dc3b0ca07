"""The inbox's filters and order, read from a query string by the page and the WebSocket alike;
and the order's keys, which page the list (a keyset cursor) and place a pushed card in it."""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from supportdesk.desk.models import Priority, RequestKind

URGENCY = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^([0-3])\.(-?[0-9]{1,17})\.([0-9a-f-]{36})$")


def microseconds(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch: exact, unlike a float timestamp."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True)
class InboxFilters:
    priority: str = ""
    claim: str = ""  # "", "mine" or "unclaimed"
    sort: str = "urgent"  # "urgent" or "newest"
    kind: str = ""  # "", "question" or "approval"
    scope: str = "teams"  # "teams": my teams' (and unrouted, and mine); "everyone": everyone's

    @classmethod
    def from_params(cls, params) -> "InboxFilters":
        """Unknown values fall back to the defaults: a filter link can't break the page."""
        priority = params.get("priority", "")
        claim = params.get("claim", "")
        sort = params.get("sort", "urgent")
        kind = params.get("kind", "")
        scope = params.get("scope", "teams")
        return cls(
            scope=scope if scope in ("teams", "everyone") else "teams",
            priority=priority if priority in Priority.values else "",
            claim=claim if claim in ("mine", "unclaimed") else "",
            sort=sort if sort in ("urgent", "newest") else "urgent",
            kind=kind if kind in RequestKind.values else "",
        )

    @classmethod
    def from_query_string(cls, query_string: bytes) -> "InboxFilters":
        parsed = parse_qs(query_string.decode("latin-1"))
        return cls.from_params({key: values[-1] for key, values in parsed.items()})

    @property
    def narrowed(self) -> bool:
        """Filtered beyond the default view (my teams', every kind and priority, anyone's)."""
        return bool(self.priority or self.claim or self.kind)

    def as_query(self) -> str:
        pairs = (("priority", self.priority), ("claim", self.claim), ("kind", self.kind),
                 ("scope", self.scope))  # fmt: skip
        parts = [f"{key}={value}" for key, value in pairs if value]
        return "&".join([*parts, f"sort={self.sort}"])

    def filter_key(self, *, user_id: int, my_team_ids: frozenset) -> tuple:
        """What decides which requests this inbox accepts: inboxes with one key accept the same
        requests, so a push is judged once per key, not once per socket."""
        personal = self.claim == "mine" or self.scope == "teams"
        return (self.priority, self.claim, self.kind, self.scope,
                user_id if personal else None,
                my_team_ids if self.scope == "teams" else None)  # fmt: skip

    def sort_key(self, *, priority: str, expires_us: int, created_us: int, pk: str) -> tuple:
        """Where a request sorts in this inbox's order (smaller first), as the list query orders."""
        if self.sort == "newest":
            return (0, -created_us, pk)
        return (URGENCY.get(priority, 3), expires_us, pk)

    def cursor(self, sort_key: tuple) -> str:
        """The "show more" cursor after a request with this sort key (opaque to the browser)."""
        return f"{sort_key[0]}.{sort_key[1]}.{sort_key[2]}"

    def sort_key_of(self, question) -> tuple:
        return self.sort_key(priority=question.ticket.priority, pk=str(question.pk),
                             expires_us=microseconds(question.expires_at),
                             created_us=microseconds(question.created_at))  # fmt: skip

    @staticmethod
    def parse_cursor(cursor: str) -> tuple | None:
        """A cursor this inbox made, or None: a garbled or foreign one means the first page."""
        found = _CURSOR.match(cursor or "")
        if not found:
            return None
        try:
            pk = str(uuid.UUID(found.group(3)))
            return (int(found.group(1)), int(found.group(2)), pk)
        except ValueError:
            return None

    def after(self, questions: QuerySet, sort_key: tuple) -> QuerySet:
        """The requests that sort after `sort_key`, on a queryset ordered by `apply`."""
        if self.sort == "newest":
            created = moment(-sort_key[1])
            return questions.filter(Q(created_at__lt=created)
                                    | Q(created_at=created, pk__lt=sort_key[2]))  # fmt: skip
        rank, expires = sort_key[0], moment(sort_key[1])
        return questions.filter(
            Q(rank__gt=rank) | Q(rank=rank, expires_at__gt=expires)
            | Q(rank=rank, expires_at=expires, pk__gt=sort_key[2])
        )  # fmt: skip

    def accepts(
        self,
        *,
        priority: str,
        claimed_by_id: int | None,
        user_id: int,
        kind: str = "question",
        team_id: int | None = None,
        assignee_user_id: int | None = None,
        my_team_ids: frozenset = frozenset(),
    ) -> bool:
        if self.priority and priority != self.priority:
            return False
        if self.scope == "teams" and not (
            team_id is None or team_id in my_team_ids or assignee_user_id == user_id
        ):
            return False
        if self.kind and kind != self.kind:
            return False
        if self.claim == "mine":
            return claimed_by_id == user_id
        if self.claim == "unclaimed":
            return claimed_by_id is None
        return True

    def condition(self, *, user_id: int) -> Q:
        """What this inbox selects among pending requests, as one condition (a page's query and
        a conditional count alike)."""
        condition = Q()
        if self.scope == "teams":
            # Subqueries, not joins: a join through team members repeats rows, and DISTINCT over
            # thousands of pending requests cost ~0.3 s a page.
            from supportdesk.desk.models import Reviewer, Team

            my_teams = Team.objects.filter(members__user_id=user_id).values("pk")
            me = Reviewer.objects.filter(user_id=user_id).values("pk")
            condition &= Q(team__isnull=True) | Q(team_id__in=my_teams) | Q(assignee_id__in=me)
        if self.priority:
            condition &= Q(ticket__priority=self.priority)
        if self.kind:
            condition &= Q(kind=self.kind)
        if self.claim == "mine":
            condition &= Q(claimed_by_id=user_id)
        elif self.claim == "unclaimed":
            condition &= Q(claimed_by__isnull=True)
        return condition

    def apply(self, questions: QuerySet, *, user_id: int) -> QuerySet:
        questions = questions.filter(self.condition(user_id=user_id))
        if self.sort == "newest":
            return questions.order_by("-created_at", "-pk")
        rank = Case(
            *[When(ticket__priority=p, then=Value(r)) for p, r in URGENCY.items()],
            default=Value(3),
            output_field=IntegerField(),
        )
        return questions.annotate(rank=rank).order_by("rank", "expires_at", "pk")
