"""The inbox's filters and order, read from a query string by the page and the WebSocket alike."""

from dataclasses import dataclass
from urllib.parse import parse_qs

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from supportdesk.desk.models import Priority, RequestKind

URGENCY = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.MEDIUM: 2, Priority.LOW: 3}


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

    def apply(self, questions: QuerySet, *, user_id: int) -> QuerySet:
        if self.scope == "teams":
            mine = Q(team__isnull=True) | Q(team__members__user_id=user_id)
            questions = questions.filter(mine | Q(assignee__user_id=user_id)).distinct()
        if self.priority:
            questions = questions.filter(ticket__priority=self.priority)
        if self.kind:
            questions = questions.filter(kind=self.kind)
        if self.claim == "mine":
            questions = questions.filter(claimed_by_id=user_id)
        elif self.claim == "unclaimed":
            questions = questions.filter(claimed_by__isnull=True)
        if self.sort == "newest":
            return questions.order_by("-created_at")
        rank = Case(
            *[When(ticket__priority=p, then=Value(r)) for p, r in URGENCY.items()],
            output_field=IntegerField(),
        )
        return questions.annotate(rank=rank).order_by("rank", "expires_at")
