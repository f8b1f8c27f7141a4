"""Task parameters, declared once: a pydantic model per task whose fields carry type, default, bounds and meaning.

From that one declaration come the config check (errors name the full key: `tasks.vae_cluster.params.lr: must be
> 0, got -1`), the JSON Schema checked when the DAG is built, `kx info TASK`, and the parameter tables of
each task's docs page (`kx docs`).

    class MyParams(Params):
        epochs: int = Field(20, ge=1, description="passes over the training set")
        lr: float = Field(3e-3, gt=0, description="Adam learning rate")

Validation is strict (no "10" for an int, no 2.5 for an int, no true for an int) and reads the values as JSON
would, so YAML lists fill tuple fields. Floats must be finite (NaN and ±inf are refused everywhere). One YAML
pitfall is forgiven: YAML 1.1 (PyYAML, Snakemake's loader) reads `lr: 1e-3` as the *string* "1e-3" because it
has no dot; a float field takes such a string as the number every user means (YAML 1.2 and JSON agree).
Cross-field checks are pydantic `model_validator`s whose ValueError message starts with the key it is about.

References:
- pydantic models and fields: https://docs.pydantic.dev/latest/concepts/models/
"""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A config value that is not what the key asks for; the message names the key."""


# A number in exponent notation without a dot (1e-3, 5E+2): a float in YAML 1.2 and JSON, a string in YAML 1.1.
YAML11_FLOAT = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+")


def _wants_float(hint: Any) -> bool:
    return hint is float or any(_wants_float(a) for a in typing.get_args(hint) if a is not Ellipsis)


def _as_number(value: Any) -> Any:
    if isinstance(value, str) and YAML11_FLOAT.fullmatch(value.strip()):
        return float(value)
    if isinstance(value, list):
        return [_as_number(v) for v in value]
    return value


class Params(BaseModel):
    """Base of every task's parameter model: frozen (runs are values), unknown keys refused, strict types,
    finite floats."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _where(prefix: str, loc: tuple) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _message(cls: type[Params], err: dict, prefix: str) -> str:
    where = _where(prefix, err["loc"])
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{where}: not a parameter of this task (known: {', '.join(cls.model_fields)})"
    if kind == "value_error":  # a model_validator's own message, which starts with its key: the full key then
        text = str(ctx.get("error", err["msg"]))
        field, sep, rest = text.partition(": ")
        return f"{where}.{field}: {rest}" if sep and field in cls.model_fields else f"{where}: {text}"
    if kind == "too_short":
        return f"{where}: must have at least {ctx['min_length']} item(s), got {err['input']!r}"
    bound = next((k for k in BOUNDS if k in ctx), None)
    if bound is not None:
        text = f"must be {BOUNDS[bound]} {ctx[bound]:g}"
    else:
        text = err["msg"].replace("Input should be", "must be").replace("Input should", "must")
    return f"{where}: {text}, got {err['input']!r}"


def normalise(cls: type[Params], values: dict) -> dict:
    """`values` with YAML 1.1's exponent strings ("1e-3") read as numbers where the field is a float."""
    fields = cls.model_fields
    return {k: _as_number(v) if k in fields and _wants_float(fields[k].annotation) else v for k, v in values.items()}


def validate(cls: type[Params], values: dict | None, where: str) -> Params:
    """`cls` from a mapping of overrides (YAML/JSON shaped); every problem is a ConfigError naming the full key."""
    values = values or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of parameters, got {values!r}")
    values = normalise(cls, values)
    try:
        return cls.model_validate_json(json.dumps(values, allow_nan=True))
    except ValidationError as e:
        raise ConfigError("\n".join(_message(cls, err, where) for err in e.errors())) from None


def json_schema(cls: type[Params]) -> dict:
    """The model's JSON Schema (draft 2020-12), as checked when the DAG is built."""
    return cls.model_json_schema()


def check_schema(schema: dict, values: dict, where: str) -> None:
    """Validate `values` against a JSON Schema with jsonschema (Snakemake's own validator library)."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema).iter_errors(values), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise ConfigError(f"{_where(where, tuple(e.absolute_path))}: {e.message}")


def dump(params: Params) -> dict:
    """Plain JSON-able values (tuples become lists), for config.yaml, hashes and checkpoints."""
    return params.model_dump(mode="json")


def type_name(hint: Any) -> str:
    """A reader's name for a field's type: `int`, `list of [int, int]`, `` `mlp` \\| `conv` ``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin in (tuple, list):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return "[" + ", ".join(type_name(a) for a in args) + "]"
        return f"list of {type_name(args[0]) if args else 'values'}"
    if hint is type(None):
        return "null"
    return getattr(hint, "__name__", str(hint))


def bounds(field) -> str:
    parts = []
    for item in field.metadata:
        for key, sign in BOUNDS.items():
            value = getattr(item, key, None)
            if value is not None:
                parts.append(f"{sign} {value:g}")
    return ", ".join(parts)


def _default_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"`{text}`" if len(text) <= 40 else f"`{text[:37]}…`"


def rows(cls: type[Params]) -> list[dict[str, str]]:
    """One row per parameter: key, type, default, bounds, meaning."""
    defaults = dump(cls())
    out = []
    for name, field in cls.model_fields.items():
        out.append(
            {
                "key": name,
                "type": type_name(field.annotation),
                "default": _default_text(defaults[name]),
                "bounds": bounds(field),
                "meaning": " ".join((field.description or "").split()),
            }
        )
    return out
