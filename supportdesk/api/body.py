"""Request bodies of the API and the event endpoint: size limits and strict JSON.

Everything refused here is refused before anything is stored, with a message saying why. The JSON
accepted is JSON every database can store: no NaN or Infinity, no NUL characters or unpaired
surrogates in strings (PostgreSQL refuses both), nesting no deeper than MAX_DEPTH.
"""

import json
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from supportdesk.api.errors import RequestRefused
from supportdesk.durable.values import MAX_DEPTH, storable_problem

KIB = 1024
MAX_REQUEST_BYTES = 1024 * KIB
MAX_EVENT_BYTES = 256 * KIB


def request_body(request: HttpRequest) -> bytes:
    """The body, once it is known to be within MAX_REQUEST_BYTES (else RequestRefused 413)."""
    too_large = RequestRefused(
        413, f"the request body is larger than {MAX_REQUEST_BYTES // KIB} KiB, the limit"
    )
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        if int(declared) > MAX_REQUEST_BYTES:
            raise too_large
    except ValueError:
        raise RequestRefused(400, f"Content-Length {declared!r} is not a number") from None
    try:
        body = request.body
    except RequestDataTooBig:  # a chunked body, larger than Django accepts at all
        raise too_large from None
    if len(body) > MAX_REQUEST_BYTES:
        raise too_large
    return body


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


def parse_json(body: bytes) -> Any:
    """The body's JSON, or RequestRefused 400 saying what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRefused(400, f"malformed JSON: the body is not UTF-8 ({exc.reason})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:  # JSONDecodeError, a NaN, a number too large
        raise RequestRefused(400, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise RequestRefused(400, f"malformed JSON: nested too deep (over {MAX_DEPTH})") from None
    problem = storable_problem(value)
    if problem:
        raise RequestRefused(400, f"malformed JSON: {problem}")
    return value


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
