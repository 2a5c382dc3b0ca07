"""The desk's one application error: a message for humans, mapped once to HTTP, pages and CLI."""


class DeskError(Exception):
    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(DeskError):
    def __init__(self, message: str):
        super().__init__(message, code="not_found")


class Conflict(DeskError):
    """The request was valid, but the thing changed first (answered by someone else, expired)."""

    def __init__(self, message: str):
        super().__init__(message, code="conflict")


class InvalidField(DeskError):
    """Input refused because of one field: `loc` says where, e.g. (0, "data", "ticketId") for
    the first event's ticket id. The API answers 422 naming it."""

    def __init__(self, message: str, *, loc: tuple):
        super().__init__(message, code="invalid_field")
        self.loc = loc

    @property
    def where(self) -> str:
        """`event 0: data.ticketId` for people."""
        index, *path = self.loc
        return f"event {index}: {'.'.join(str(part) for part in path)}"


class InvalidFields(DeskError):
    """Input refused because of several fields at once (an edited tool call's arguments): each
    `(loc, message)`. The API answers 422 naming each one."""

    def __init__(self, problems: list[tuple[tuple, str]]):
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems),
                         code="invalid_field")  # fmt: skip
        self.problems = problems
