"""The inbox's filters and order, read from a query string by the page and the WebSocket alike."""

from dataclasses import dataclass
from urllib.parse import parse_qs

from django.db.models import Case, IntegerField, QuerySet, Value, When

from supportdesk.desk.models import Priority, RequestKind

PRIORITY_RANK = {Priority.CRITICAL: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


@dataclass(frozen=True)
class InboxFilters:
    priority: str = ""
    claim: str = ""  # "", "mine" or "unclaimed"
    sort: str = "urgent"  # "urgent" or "newest"
    kind: str = ""  # "", "question" or "approval"

    @classmethod
    def from_params(cls, params) -> "InboxFilters":
        """Unknown values fall back to the defaults: a filter link can't break the page."""
        priority = params.get("priority", "")
        claim = params.get("claim", "")
        sort = params.get("sort", "urgent")
        kind = params.get("kind", "")
        return cls(
            priority=priority if priority in Priority.values else "",
            claim=claim if claim in ("mine", "unclaimed") else "",
            sort=sort if sort in ("urgent", "newest") else "urgent",
            kind=kind if kind in RequestKind.values else "",
        )

    @classmethod
    def from_query_string(cls, query_string: bytes) -> "InboxFilters":
        parsed = parse_qs(query_string.decode("latin-1"))
        return cls.from_params({key: values[-1] for key, values in parsed.items()})

    def as_query(self) -> str:
        parts = [f"{k}={v}" for k, v in (("priority", self.priority), ("claim", self.claim),
                                         ("kind", self.kind)) if v]  # fmt: skip
        return "&".join([*parts, f"sort={self.sort}"])

    def accepts(
        self, *, priority: str, claimed_by_id: int | None, user_id: int, kind: str = "question"
    ) -> bool:
        if self.priority and priority != self.priority:
            return False
        if self.kind and kind != self.kind:
            return False
        if self.claim == "mine":
            return claimed_by_id == user_id
        if self.claim == "unclaimed":
            return claimed_by_id is None
        return True

    def apply(self, questions: QuerySet, *, user_id: int) -> QuerySet:
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
            *[When(ticket__priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
            output_field=IntegerField(),
        )
        return questions.annotate(rank=rank).order_by("rank", "expires_at")
