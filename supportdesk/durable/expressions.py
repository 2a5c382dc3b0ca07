r"""Match expressions of `wait_for_event` and `cancel_on`, compiled to indexable clauses.

`match="data.ticketId"` means `event.data.ticketId == async.data.ticketId`. `if_exp` accepts
comparisons (`==`, `!=`) joined by `&&`, over `event.` paths (the run's trigger event, resolved when
the wait is created), `async.` paths (the incoming event) and literals: strings in single or double
quotes (escapes: \\ \' \" \n \t \r \b \f \/ \uXXXX), numbers, true, false, null. Values compare
as JSON values: `7 == 7.0`, `"7" != 7`.

A wait is indexed by one `==` clause against a literal: its path and a hash of the path and value.
At event time the engine asks which paths pending waits are indexed by and looks up the event's
value at each, so the index finds exactly the waits whose clause holds (whatever the value: a
scalar, a list or an object; at any depth; top-level paths such as `async.id` too).
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from supportdesk.durable.values import canonical

MAX_PATH_LENGTH = 255

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|&&)
      | (?P<path>(?:event|async)(?:\.[A-Za-z_$][\w$-]*)+)
      | (?P<word>true|false|null)
    )""",
    re.VERBOSE,
)
_MISSING = object()


class ExpressionError(ValueError):
    pass


def get_path(document: dict, path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def match_key(path: str, value: Any) -> str:
    """The index key of `path == value`: fixed length, whatever the value's size."""
    text = f"{path}\x1f{canonical(value)}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def event_match_keys(event: dict, paths: list[str]) -> list[str]:
    """The index keys `event` satisfies for each of `paths` it has a value at."""
    keys = []
    for path in paths:
        value = get_path(event, path)
        if value is not _MISSING:
            keys.append(match_key(path, value))
    return keys


@dataclass(frozen=True)
class Compiled:
    """A match expression compiled against its trigger event."""

    clauses: list[dict]
    match_path: str | None = None  # the path of the indexed `==` clause, if there is one
    match_key: str | None = None


def _tokens(expression: str) -> list[tuple[str, Any]]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        found = _TOKEN.match(expression, position)
        if not found or found.end() == position:
            raise ExpressionError(
                f"cannot read {expression[position : position + 20]!r} at character {position} "
                f"of {expression!r}"
            )
        kind = found.lastgroup
        text = found.group(kind)
        if kind == "string":
            tokens.append(("literal", _string(text, found.start(kind), expression)))
        elif kind == "number":
            tokens.append(("literal", float(text) if "." in text else int(text)))
        elif kind == "word":
            tokens.append(("literal", {"true": True, "false": False, "null": None}[text]))
        else:
            tokens.append((kind, text))
        position = found.end()
    return tokens


_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f",
            "/": "/"}  # fmt: skip


def _string(text: str, position: int, expression: str) -> str:
    """The value of a quoted string literal, its escapes decoded."""
    body, out, index = text[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1 : index + 2]
        if escape in _ESCAPES:
            out.append(_ESCAPES[escape])
            index += 2
        elif escape == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[index + 2 : index + 6]):
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            raise ExpressionError(
                f"unknown escape \\{escape} in the string {text} at character "
                f"{position + 1 + index} of {expression!r}; write \\\\ for a backslash"
            )
    return "".join(out)


def compile_conditions(
    *, trigger_event: dict, match: str | None = None, if_exp: str | None = None
) -> Compiled:
    """Compile `match`/`if_exp` against the trigger event into clauses and an index key.

    A clause is `{"path", "op", "value"}` (incoming path against a literal) or
    `{"path", "op", "other"}` (two incoming paths); a clause between literals is decided now and
    kept as `{"const": bool}`.
    """
    if match and if_exp:
        raise ExpressionError("give either match or if_exp, not both")
    if match:
        path = match.removeprefix("event.").removeprefix("async.")
        if not re.fullmatch(r"[A-Za-z_$][\w$-]*(\.[A-Za-z_$][\w$-]*)*", path):
            raise ExpressionError(
                f"match must be a dotted path such as data.ticketId, not {match!r}"
            )
        if_exp = f"event.{path} == async.{path}"
    if not if_exp:
        return Compiled(clauses=[])

    tokens = _tokens(if_exp)
    clauses: list[dict] = []
    for index in range(0, len(tokens), 4):
        chunk = tokens[index : index + 4]
        left, op, right = [*chunk, None, None, None][:3]
        if op is None or op[0] != "op" or op[1] == "&&" or right is None:
            raise ExpressionError(f"expected `a == b` or `a != b` joined by && in {if_exp!r}")
        if len(chunk) == 4 and chunk[3] != ("op", "&&"):
            raise ExpressionError(f"comparisons must be joined by && in {if_exp!r}")
        if index + 4 == len(tokens):
            raise ExpressionError(f"{if_exp!r} ends with &&")
        clauses.append(_clause(left, op[1], right, trigger_event, if_exp))

    indexed = next((c for c in clauses if c.get("op") == "==" and "value" in c), None)
    if indexed is None:
        return Compiled(clauses=clauses)
    return Compiled(
        clauses=clauses,
        match_path=indexed["path"],
        match_key=match_key(indexed["path"], indexed["value"]),
    )


def _resolve(operand: tuple[str, Any], trigger_event: dict, if_exp: str) -> tuple[str, Any]:
    kind, value = operand
    if kind == "literal":
        return "literal", value
    if kind != "path":
        raise ExpressionError(f"expected a path or a literal in {if_exp!r}, got {value!r}")
    root, path = value.split(".", 1)
    if len(path) > MAX_PATH_LENGTH:
        raise ExpressionError(f"the path {value[:60]}… is longer than {MAX_PATH_LENGTH} characters")
    if root == "async":
        return "async", path
    found = get_path(trigger_event, path)
    return "literal", None if found is _MISSING else found


def _clause(left, op: str, right, trigger_event: dict, if_exp: str) -> dict:
    left_kind, left_value = _resolve(left, trigger_event, if_exp)
    right_kind, right_value = _resolve(right, trigger_event, if_exp)
    if left_kind == "literal" and right_kind == "literal":
        return {"const": (left_value == right_value) == (op == "==")}
    if left_kind == "literal":
        left_kind, left_value, right_kind, right_value = (
            right_kind,
            right_value,
            left_kind,
            left_value,
        )
    if right_kind == "literal":
        return {"path": left_value, "op": op, "value": right_value}
    return {"path": left_value, "op": op, "other": right_value}


def evaluate(clauses: list[dict], event: dict) -> bool:
    for clause in clauses:
        if "const" in clause:
            if not clause["const"]:
                return False
            continue
        left = get_path(event, clause["path"])
        right = clause["value"] if "value" in clause else get_path(event, clause["other"])
        if left is _MISSING or right is _MISSING:
            return False
        if (canonical(left) == canonical(right)) != (clause["op"] == "=="):
            return False
    return True
