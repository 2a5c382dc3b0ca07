"""JSON values as the engine stores and compares them, the same in both databases.

Numbers compare as numbers (`7` and `7.0` are one value, as in Inngest's expressions), and what is
stored is what PostgreSQL's jsonb accepts as well as SQLite: no NaN or Infinity, no NUL characters
and no unpaired surrogates in strings, nesting no deeper than MAX_DEPTH.
"""

import json
import math
from typing import Any

MAX_DEPTH = 64


def normalized(value: Any) -> Any:
    """`value` with every integral float turned into an int, so that 7.0 and 7 are one value."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: normalized(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def canonical(value: Any) -> str:
    """One text per JSON value: keys sorted, numbers normalized."""
    return json.dumps(normalized(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def storable_problem(value: Any) -> str:
    """Why `value` can't be stored as given (a location and a reason), or "" if it can."""
    pending: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            return f"{path}: nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key) if isinstance(key, str) else ""
                if problem:
                    return f"{path}: a key {problem}"
                pending.append((child, f"{path}.{str(key)[:40]}", depth + 1))
        elif isinstance(item, list | tuple):
            pending.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"{path}: the string {problem}"
        elif isinstance(item, float) and not math.isfinite(item):
            return f"{path}: {item} is not a JSON number"
    return ""


def text_problem(text: str) -> str:
    """Why PostgreSQL would refuse this text (SQLite stores it), or ""."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate"
    return ""


def storable_text(text: str) -> str:
    """Text the engine writes itself (an error message, a reason), made storable everywhere."""
    text = text.replace("\x00", "\\u0000")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
