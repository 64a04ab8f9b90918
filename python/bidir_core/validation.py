"""One validation layer for every config dataclass: pydantic checks the fields against
their annotations (types, ranges, choices), errors become one-line exceptions.

A config declares its rules in its field types, e.g. ``num_envs: Annotated[int, Field(ge=1)]``
or ``feedback: Literal["parametric", "table", "both"]``, sets ``__pydantic_config__ = RULES``
and calls ``check_fields(self, prefix)`` from its ``validate()``; the rules that tie fields
together stay in ``validate()``. ``field_help`` gives the attribute docstrings the CLI shows.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
from typing import Any, Callable

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

__all__ = ["RULES", "Field", "check_fields", "check_known_keys", "field_help"]

RULES = ConfigDict(strict=True, revalidate_instances="always", use_attribute_docstrings=True)
"""The pydantic settings of every config: no coercion (an int field refuses 1.5 and True),
nested configs checked too, attribute docstrings as field descriptions."""

# pydantic error types that mean "wrong type" (TypeError); the others are ValueErrors.
_TYPE_ERRORS = {
    "int_type": "an int",
    "float_type": "a number",
    "bool_type": "a bool",
    "string_type": "a string",
    "tuple_type": "a tuple",
    "dict_type": "a dict",
}


_checking: contextvars.ContextVar[bool] = contextvars.ContextVar("checking", default=False)


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def check_fields(config: Any, prefix: str = "",
                 name: Callable[[str], str] | None = None) -> None:
    """Raise TypeError / ValueError for the first field of ``config`` that breaks its
    declared rules, named ``prefix + field`` (or ``name(field)``)."""
    if _checking.get():  # pydantic rebuilding the config reruns its __post_init__
        return
    token = _checking.set(True)
    try:
        _adapter(type(config)).validate_python(config)
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        field = ".".join(str(part) for part in e["loc"] if not isinstance(part, int))
        label = name(field) if name is not None else prefix + field
        raise _exception(e, label) from None
    finally:
        _checking.reset(token)


def _exception(e: dict[str, Any], label: str) -> Exception:
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    if kind in _TYPE_ERRORS:
        return TypeError(f"{label} must be {_TYPE_ERRORS[kind]}, got {type(value).__name__}")
    bounds = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"),
              "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}
    if kind in bounds:
        op, key = bounds[kind]
        return ValueError(f"{label} must be {op} {ctx[key]}, got {value!r}")
    if kind == "finite_number":
        return ValueError(f"{label} must be finite, got {value!r}")
    if kind == "literal_error":
        return ValueError(f"{label} must be one of {ctx['expected']}, got {value!r}")
    if kind == "string_too_short":
        return ValueError(f"{label} must be a non-empty string, got {value!r}")
    if kind == "too_short":
        return ValueError(f"{label} needs at least {ctx.get('min_length', 1)} item(s), got {value!r}")
    return ValueError(f"{label}: {e['msg']}, got {value!r}")


def field_help(cls: type) -> dict[str, str]:
    """The attribute docstrings of a config dataclass's fields, inherited ones included
    (pydantic reads them; each class of the hierarchy documents its own fields)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or not dataclasses.is_dataclass(klass):
            continue
        schema = TypeAdapter(klass).json_schema(mode="serialization")
        for key, prop in schema.get("properties", {}).items():
            if "description" in prop:
                docs[key] = prop["description"].strip().replace("``", "`")
    return docs


def check_known_keys(cls: type, values: dict[str, Any], what: str) -> None:
    """Raise ValueError naming the keys of ``values`` that are no field of ``cls``
    (a saved config from another version, or a typo in a config file)."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {what} option(s) {sorted(unknown)}; known: {sorted(known)}")
