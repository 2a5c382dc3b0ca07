"""The HTTP layer's own refusal (body too large, malformed JSON, bad key), distinct from the
desk's DeskError: it is raised before any service runs, so nothing was stored."""


class RequestRefused(Exception):
    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
