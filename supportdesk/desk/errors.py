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
