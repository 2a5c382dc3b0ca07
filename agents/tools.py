"""Tools: functions whose parameters (type hints or a pydantic model) become a JSON schema.

Arguments are validated before the handler runs; failures go back to the model as `{"error"}`.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from pydantic import BaseModel, ValidationError, create_model

from agents.models import ToolSpec

if TYPE_CHECKING:
    from agents.agent import Agent
    from agents.network import Network
    from agents.state import State
    from agents.step import Step

_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@dataclass
class ToolContext:
    """What a handler gets besides its arguments. Only durable tools get a `step`, to make their
    own steps; a plain tool already runs inside one."""

    network: Network
    agent: Agent
    step: Step | None

    @property
    def state(self) -> State:
        return self.network.state


class Tool:
    """A tool the model can call.

    Parameters come from `parameters` (a pydantic model, passed to the handler as one argument)
    or from the handler's type hints: a single pydantic-model parameter is passed whole, otherwise
    each field is a keyword argument. A parameter named `ctx` or typed `ToolContext` receives the
    context. A plain tool runs inside a step, so a replay does not run it again. A `durable` tool
    is not wrapped in a step: it makes its own with `ctx.step`, and runs again on every replay.
    """

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        parameters: type[BaseModel] | None = None,
        durable: bool = False,
    ) -> None:
        self.handler = handler
        self.name = name or handler.__name__
        if not _TOOL_NAME.fullmatch(self.name):
            raise ValueError(f"tool name {self.name!r} must match {_TOOL_NAME.pattern}")
        self.description = description if description is not None else inspect.getdoc(handler) or ""
        self.durable = durable
        self._ctx_param: str | None = None
        self._model_param: str | None = None
        self.parameters: type[BaseModel]
        hints = typing.get_type_hints(handler, include_extras=True)
        params: list[tuple[inspect.Parameter, Any]] = []
        for param in inspect.signature(handler).parameters.values():
            hint = hints.get(param.name)
            if param.name == "ctx" or hint is ToolContext:
                self._ctx_param = param.name
            elif param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"tool {self.name}: *args/**kwargs cannot become a schema")
            else:
                params.append((param, hint))
        if parameters is None and len(params) == 1:
            hint = params[0][1]
            if inspect.isclass(hint) and issubclass(hint, BaseModel):
                parameters = hint
        if parameters is not None:
            if len(params) != 1:
                raise TypeError(f"tool {self.name}: a parameters model needs one handler argument")
            self._model_param = params[0][0].name
            self.parameters = parameters
            return
        fields: dict[str, Any] = {}
        for param, hint in params:
            if hint is None:
                raise TypeError(f"tool {self.name}: parameter {param.name!r} needs a type hint")
            fields[param.name] = (hint, ... if param.default is param.empty else param.default)
        self.parameters = create_model(f"{self.name}_parameters", **fields)

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(
            name=self.name,
            description=self.description,
            input_schema=self.parameters.model_json_schema(),
        )

    def invoke(self, input: Any, ctx: ToolContext) -> tuple[Any, bool]:
        """Validate `input`, run the handler and return `(result, is_error)`.

        Only `Exception` becomes an error result: a durable engine suspends a run with a
        BaseException, which must pass through untouched.
        """
        try:
            args = self.parameters.model_validate(input)
        except ValidationError as exc:
            return {"error": f"invalid arguments for {self.name}: {_describe(exc)}"}, True
        kwargs = {self._ctx_param: ctx} if self._ctx_param else {}
        if self._model_param:
            kwargs[self._model_param] = args
        else:
            kwargs.update({field: getattr(args, field) for field in type(args).model_fields})
        try:
            return self.handler(**kwargs), False
        except Exception as exc:
            return {"error": str(exc) or type(exc).__name__}, True

    def __repr__(self) -> str:
        return f"Tool({self.name!r}{', durable' if self.durable else ''})"


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'input'}: {error['msg']}"
        for error in exc.errors()
    )


@overload
def tool(handler: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    parameters: type[BaseModel] | None = None,
    durable: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...
def tool(handler: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Make a `Tool` from a function: `@tool` or `@tool(name=..., durable=True, ...)`."""
    if handler is not None:
        return Tool(handler, **options)
    return lambda fn: Tool(fn, **options)
