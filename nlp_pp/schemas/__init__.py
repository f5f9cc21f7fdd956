"""Typed records on disk: frozen dataclasses with a checked ``to_dict``/``from_dict`` and a JSON Schema.

:class:`Record` is the base of every result of :mod:`nlp_pp.results`; :func:`json_schema` derives
the schema of what ``to_dict`` writes from the dataclasses themselves, so it cannot drift from
them. ``metrics.schema.json`` here is that schema for ``metrics.json``
(:func:`nlp_pp.schemas.generate.write_schema` regenerates it; a test checks it is current).

Reading is lenient about what is *missing* (a field left out takes its default) and strict about
what is *wrong*: a value of the wrong type is a :class:`~nlp_pp.errors.RunError` naming where it is.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

from ..errors import ConfigError, RunError

SCHEMAS = Path(__file__).resolve().parent
R = TypeVar("R", bound="Record")


def optional(default: Any = None) -> Any:
    """A field left out of the JSON when it is ``None`` (so a file keeps only what applies)."""
    return dataclasses.field(default=default, metadata={"omit_none": True})


class Record:
    """Base of every result: JSON-ready ``to_dict`` and a checked ``from_dict``."""

    def to_dict(self) -> dict:
        return _encode(self)

    @classmethod
    def from_dict(cls: type[R], data: Any, *, where: str = "") -> R:
        return _decode(cls, data, where or cls.__name__)


def _encode(value: Any) -> Any:
    if isinstance(value, Record) and hasattr(value, "__json__"):
        return value.__json__()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        first = getattr(type(value), "_FIRST", ())  # fields a reader looks for first, written first
        fields = sorted(
            dataclasses.fields(value),
            key=lambda f: (f.name not in first, first.index(f.name) if f.name in first else 0),
        )
        for f in fields:
            v = getattr(value, f.name)
            if v is None and f.metadata.get("omit_none"):
                continue
            out[f.name] = _encode(v)
        return out
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # NumPy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def problem(where: str, expected: str, value: Any) -> RunError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return RunError(f"{where} must be {expected} (got {shown}): the file is corrupt or from another version")


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _decode(inner[0], value, where)
        for a in inner:  # first that fits
            try:
                return _decode(a, value, where)
            except RunError:
                continue
        raise problem(where, " or ".join(getattr(a, "__name__", str(a)) for a in inner), value)
    if isinstance(tp, type) and issubclass(tp, Record) and hasattr(tp, "__from_json__"):
        return tp.__from_json__(value, where)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise problem(where, "an object", value)
        hints, kwargs = _hints(tp), {}
        for f in dataclasses.fields(tp):
            if f.name in value:
                kwargs[f.name] = _decode(hints[f.name], value[f.name], f"{where}.{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RunError(f"{where} has no {f.name!r}: the file is corrupt or from another version")
        try:
            return tp(**kwargs)
        except (ValueError, TypeError, ConfigError) as e:
            raise RunError(f"{where} is invalid ({e}): the file is corrupt or from another version") from None
    if origin is list:
        if not isinstance(value, list):
            raise problem(where, "a list", value)
        return [_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list) or (args[-1] is not Ellipsis and len(value) != len(args)):
            raise problem(where, f"a list of {len(args)} items", value)
        item_types = [args[0]] * len(value) if args[-1] is Ellipsis else list(args)
        return tuple(_decode(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(item_types, value)))
    if origin is dict:
        if not isinstance(value, dict):
            raise problem(where, "an object", value)
        return {str(k): _decode(args[1], v, f"{where}[{k!r}]") for k, v in value.items()}
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise problem(where, "a number", value)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise problem(where, "an integer", value)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise problem(where, "a string", value)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise problem(where, "true or false", value)
        return value
    raise TypeError(f"results: no decoder for {tp!r}")  # a bug in a dataclass below, not in the file


def json_schema(cls: type) -> dict:
    """JSON Schema (2020-12) of what :meth:`Record.to_dict` writes for ``cls``.

    Generated from the dataclasses above, so it cannot drift from them; shipped as
    ``nlp_pp/schemas/metrics.schema.json`` (a test checks the two are equal).
    """
    defs: dict[str, dict] = {}

    def ref(tp: Any) -> dict:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if tp is Any:
            return {}
        if origin in (Union, types.UnionType):
            alts = [ref(a) for a in args]
            return {"anyOf": alts}
        if isinstance(tp, type) and issubclass(tp, Record) and hasattr(tp, "__json__"):
            return {"type": "string"}
        if dataclasses.is_dataclass(tp):
            if tp.__name__ not in defs:
                defs[tp.__name__] = {}  # placeholder against recursion
                hints = _hints(tp)
                props, required = {}, []
                for f in dataclasses.fields(tp):
                    props[f.name] = ref(hints[f.name])
                    if not f.metadata.get("omit_none"):
                        required.append(f.name)
                defs[tp.__name__] = {
                    "type": "object",
                    "description": (tp.__doc__ or "").strip().split("\n")[0],
                    "properties": props,
                    "required": required,
                    "additionalProperties": False,
                }
            return {"$ref": f"#/$defs/{tp.__name__}"}
        if origin is list:
            return {"type": "array", "items": ref(args[0])}
        if origin is tuple:
            if args[-1] is Ellipsis:
                return {"type": "array", "items": ref(args[0])}
            return {
                "type": "array",
                "prefixItems": [ref(a) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        if origin is dict:
            return {"type": "object", "additionalProperties": ref(args[1])}
        simple = {float: "number", int: "integer", str: "string", bool: "boolean", type(None): "null"}
        return {"type": simple[tp]}

    root = ref(cls)
    version = getattr(cls, "SCHEMA_VERSION", 1)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://nlp-pp.invalid/schemas/{cls.__name__.lower()}-{version}.json",
        "title": f"nlp_pp {cls.__name__} (schema_version {version})",
        **root,
        "$defs": defs,
    }


def metrics_schema() -> dict:
    """The shipped JSON Schema of ``metrics.json``."""
    return json.loads((SCHEMAS / "metrics.schema.json").read_text(encoding="utf-8"))
