"""The edit form of a proposed tool call, generated from the tool's JSON schema: types are kept —
a number stays a number, an enum is a select, a boolean a checkbox, text a textarea — and what the
reviewer submits is turned back into those types before the desk validates it against the schema.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from supportdesk.desk.models import schema_properties

PREFIX = "arg-"
SHORT_TEXT = 200  # strings allowed no longer than this get a one-line input


@dataclass
class ArgumentField:
    name: str
    label: str
    kind: str  # textarea, text, integer, number, select, checkbox, json
    value: Any = None
    options: list[str] = field(default_factory=list)
    required: bool = False
    help: str = ""
    error: str = ""

    @property
    def input_name(self) -> str:
        return f"{PREFIX}{self.name}"

    @property
    def shown_value(self) -> str:
        if self.kind == "json":
            return json.dumps(self.value, ensure_ascii=False, indent=2)
        return "" if self.value is None else str(self.value)


def _resolved(schema: dict, prop: dict) -> dict:
    """A property with its `$ref` (pydantic's enums) and `anyOf: [X, null]` unwrapped."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        prop = {**schema.get("$defs", {}).get(name, {}), **{k: v for k, v in prop.items()
                                                             if k != "$ref"}}  # fmt: skip
    if "anyOf" in prop:
        choices = [p for p in prop["anyOf"] if p.get("type") != "null"]
        if len(choices) == 1:
            prop = {**_resolved(schema, choices[0]), **{k: v for k, v in prop.items()
                                                        if k != "anyOf"}}  # fmt: skip
    return prop


def _kind(prop: dict) -> str:
    if "enum" in prop:
        return "select"
    kind = prop.get("type")
    if kind == "string":
        short = prop.get("maxLength") is not None and prop["maxLength"] <= SHORT_TEXT
        return "text" if short else "textarea"
    if kind in ("integer", "number"):
        return kind
    if kind == "boolean":
        return "checkbox"
    return "json"


def fields_for(schema: dict, arguments: dict, errors: dict[str, str] | None = None):
    """The form's fields, in the schema's order, filled with `arguments`."""
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema_properties(schema):
        prop = _resolved(schema, raw)
        fields.append(ArgumentField(
            name=name, label=prop.get("title") or name.replace("_", " ").capitalize(),
            kind=_kind(prop), value=arguments.get(name, prop.get("default")),
            options=[str(option) for option in prop.get("enum", [])],
            required=name in required, help=prop.get("description", ""),
            error=(errors or {}).get(name, ""),
        ))  # fmt: skip
    return fields


def arguments_from(schema: dict, submitted) -> tuple[dict, dict[str, str]]:
    """The typed arguments a reviewer submitted (form data), and what could not be read, by
    field. A number that isn't one is refused here, in words, rather than sent as text."""
    arguments: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in schema_properties(schema):
        prop = _resolved(schema, raw)
        kind = _kind(prop)
        if kind == "checkbox":
            arguments[name] = submitted.get(f"{PREFIX}{name}") == "on"
            continue
        text = submitted.get(f"{PREFIX}{name}")
        if text is None or (text == "" and kind in ("integer", "number", "json")):
            continue  # left out: the schema says whether it may be
        try:
            if kind == "integer":
                arguments[name] = int(text)
            elif kind == "number":
                number = float(text)
                arguments[name] = int(number) if number.is_integer() else number
            elif kind == "json":
                arguments[name] = json.loads(text)
            else:
                arguments[name] = text
        except ValueError:
            expected = {"integer": "a whole number", "number": "a number"}.get(kind, "valid JSON")
            errors[name] = f"“{text[:40]}” is not {expected}"
    return arguments, errors
