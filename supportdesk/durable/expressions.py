"""Match expressions of `wait_for_event` and `cancel_on`, compiled to indexable clauses.

`match="data.ticketId"` means `event.data.ticketId == async.data.ticketId`. `if_exp` accepts
comparisons (`==`, `!=`) joined by `&&`, over `event.` paths (the run's trigger event, resolved when
the wait is created), `async.` paths (the incoming event) and literals: strings in single or double
quotes, numbers, true, false, null.
"""

import json
import re
from typing import Any

MAX_INDEXED_LEAVES = 256

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


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def match_key(path: str, value: Any) -> str:
    return f"{path}={canonical(value)}"


def event_match_keys(event: dict) -> list[str]:
    """Every `path=value` key an incoming event can satisfy: one per scalar leaf of `data`."""
    keys: list[str] = []
    stack: list[tuple[str, Any]] = [("data", event.get("data") or {})]
    while stack and len(keys) < MAX_INDEXED_LEAVES:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{prefix}.{k}", v) for k, v in value.items())
        elif not isinstance(value, list):
            keys.append(match_key(prefix, value))
    return keys


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
            value: Any = json.loads('"' + text[1:-1].replace('"', '\\"').replace("\\'", "'") + '"')
            tokens.append(("literal", value))
        elif kind == "number":
            tokens.append(("literal", float(text) if "." in text else int(text)))
        elif kind == "word":
            tokens.append(("literal", {"true": True, "false": False, "null": None}[text]))
        else:
            tokens.append((kind, text))
        position = found.end()
    return tokens


def compile_conditions(
    *, trigger_event: dict, match: str | None = None, if_exp: str | None = None
) -> tuple[list[dict], str | None]:
    """Compile `match`/`if_exp` against the trigger event into (clauses, index key).

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
        return [], None

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

    key = next(
        (match_key(c["path"], c["value"]) for c in clauses if c.get("op") == "==" and "value" in c),
        None,
    )
    return clauses, key


def _resolve(operand: tuple[str, Any], trigger_event: dict, if_exp: str) -> tuple[str, Any]:
    kind, value = operand
    if kind == "literal":
        return "literal", value
    if kind != "path":
        raise ExpressionError(f"expected a path or a literal in {if_exp!r}, got {value!r}")
    root, path = value.split(".", 1)
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
