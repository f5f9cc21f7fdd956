"""Declared options: each setting's default, constraint and reason in one place, checked by one function.

A config class declares each field once, in the style of scikit-learn's parameter validation::

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     lr: float = option(2e-3, Interval(float, 0, 10, closed="neither"), "Adam learning rate")
    ...     pooling: str = option("last", OneOf("last", "max", "mean"), "how states become one vector")
    ...     def __post_init__(self) -> None:
    ...         validate(self)
    >>> Demo(lr=20.0)
    Traceback (most recent call last):
    ...
    nlp_pp.errors.ConfigError: Demo.lr must be a number in (0, 10) (got 20.0)

Another config that uses the same setting *borrows* the declaration instead of repeating it
(:func:`borrow`); :func:`sub_config` then derives the owner's config from the borrower's values.
Values from a command line or a config file may be strings: :func:`parse_values` turns them into
typed values with the same constraints, so both paths accept and reject the same things.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import numbers
import reprlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, field
from typing import Any, ClassVar

from .errors import ConfigError, shorten
from .schemas import Record, problem

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class Constraint:
    """What values a setting accepts: :meth:`check`, :meth:`describe`, and :meth:`parse` for strings."""

    def normalize(self, value: Any) -> Any:
        """Harmless variants of a valid value (a list for a tuple, a NumPy scalar for a number)."""
        return value

    def check(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def parse(self, text: str) -> Any:
        """The value a command-line or config-file string stands for (unchanged when it is not one)."""
        return text

    def problem(self, value: Any) -> str:
        """What exactly is wrong with an invalid ``value`` (empty when the description says it all)."""
        return ""

    @property
    def metavar(self) -> str | None:
        return None


@dataclass(frozen=True)
class Interval(Constraint):
    """An ``int`` or ``float`` between ``low`` and ``high`` (``None``: unbounded); booleans never count."""

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # which bounds are included: both, left, right, neither

    def normalize(self, value: Any) -> Any:
        if isinstance(value, numbers.Number) and not isinstance(value, bool) and hasattr(value, "item"):
            value = value.item()  # NumPy scalar
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        return value

    def check(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and self.closed in ("right", "neither"))
        ):
            return False
        return self.high is None or not (
            value > self.high or (value == self.high and self.closed in ("left", "neither"))
        )

    def describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        lo_in, hi_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return (
                f"{noun} in {'[' if lo_in else '('}{_fmt(self.low)}, {_fmt(self.high)}{']' if hi_in else ')'}"
            )
        if self.low is not None:
            return f"{noun} {'>=' if lo_in else '>'} {_fmt(self.low)}"
        if self.high is not None:
            return f"{noun} {'<=' if hi_in else '<'} {_fmt(self.high)}"
        return noun

    def parse(self, text: str) -> Any:
        try:
            return self.kind(text.strip()) if self.kind is int else float(text.strip())
        except ValueError:
            return text

    @property
    def metavar(self) -> str:
        return "N" if self.kind is int else "X"


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a few strings (compared after ``strip().lower()`` when parsed)."""

    options: tuple[str, ...]

    def __init__(self, *options: str):
        object.__setattr__(self, "options", tuple(options))

    def check(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.options

    def describe(self) -> str:
        return "one of " + ", ".join(self.options)

    def parse(self, text: str) -> Any:
        return text.strip().lower()

    @property
    def metavar(self) -> str:
        return "{" + ",".join(self.options) + "}"


@dataclass(frozen=True)
class Boolean(Constraint):
    """``True`` or ``False``; the strings true/false, yes/no, on/off, 1/0 when parsed."""

    def check(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"

    def parse(self, text: str) -> Any:
        t = text.strip().lower()
        return True if t in _TRUE else False if t in _FALSE else text


@dataclass(frozen=True)
class Text(Constraint):
    """A non-empty string (``hint`` says what it should look like)."""

    hint: str = "a non-empty string"

    def check(self, value: Any) -> bool:
        return isinstance(value, str) and bool(value.strip())

    def describe(self) -> str:
        return self.hint


@dataclass(frozen=True)
class Optional(Constraint):
    """``None`` or a value of ``inner``; the strings ``none`` and the empty string parse as ``None``."""

    inner: Constraint

    def normalize(self, value: Any) -> Any:
        return None if value is None else self.inner.normalize(value)

    def check(self, value: Any) -> bool:
        return value is None or self.inner.check(value)

    def describe(self) -> str:
        return f"{self.inner.describe()}, or none"

    def parse(self, text: str) -> Any:
        return None if text.strip().lower() in ("", "none") else self.inner.parse(text)

    @property
    def metavar(self) -> str | None:
        return self.inner.metavar


@dataclass(frozen=True)
class ListOf(Constraint):
    """A tuple of ``item`` values, each at most once; a comma-separated string parses as one.

    ``everything``: what the word ``all`` stands for (e.g. every model name).
    """

    item: Constraint
    min_len: int = 1
    everything: tuple | None = None

    def normalize(self, value: Any) -> Any:
        if isinstance(value, str):
            value = self.parse(value)
        if isinstance(value, Sequence) and not isinstance(value, str):
            return tuple(self.item.normalize(v) for v in value)
        return value

    def check(self, value: Any) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) >= self.min_len
            and all(self.item.check(v) for v in value)  # before set(): a nested list is unhashable
            and len(set(value)) == len(value)
        )

    def describe(self) -> str:
        if isinstance(self.item, OneOf):
            what = "values from " + ", ".join(self.item.options) + (" (or all)" if self.everything else "")
        else:
            what = f"values that are each {self.item.describe()}"
        return f"a comma-separated list of {what}, each at most once" + (
            ", not empty" if self.min_len else ""
        )

    def problem(self, value: Any) -> str:
        if not isinstance(value, tuple):
            return ""
        if len(value) < self.min_len:
            return "it is empty"
        bad = [v for v in value if not self.item.check(v)]
        if bad:
            return (
                f"{shown(bad[0], 60)} is not {self.item.describe()}"
                if not isinstance(self.item, OneOf)
                else f"unknown value {bad[0]!r}"
            )
        twice = [v for v in value if value.count(v) > 1]
        return f"{twice[0]!r} is listed twice" if twice else ""

    def parse(self, text: str) -> Any:
        if self.everything is not None and text.strip().lower() == "all":
            return tuple(self.everything)
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return tuple(self.item.parse(p) if isinstance(p, str) else p for p in parts)

    @property
    def metavar(self) -> str:
        return "A,B,..."


@dataclass(frozen=True)
class Parsed(Constraint):
    """A typed value with a text form: ``kind.parse(text)`` reads it (a ConfigError means invalid), ``str()``
    writes it back. The value stays typed after validation (a ``ThresholdPolicy``, not ``"f1"``)."""

    kind: type
    forms: str  # what the text form may be, for messages

    def normalize(self, value: Any) -> Any:
        return self.parse(value) if isinstance(value, str) else value

    def check(self, value: Any) -> bool:
        return isinstance(value, self.kind)

    def describe(self) -> str:
        return self.forms

    def parse(self, text: str) -> Any:
        try:
            return self.kind.parse(text)
        except ConfigError:
            return text


@dataclass(frozen=True)
class AnyOf(Constraint):
    """A value that satisfies one of several constraints (tried in order when parsing)."""

    alternatives: tuple[Constraint, ...]

    def __init__(self, *alternatives: Constraint):
        object.__setattr__(self, "alternatives", tuple(alternatives))

    def normalize(self, value: Any) -> Any:
        for c in self.alternatives:
            v = c.normalize(value)
            if c.check(v):
                return v
        return value

    def check(self, value: Any) -> bool:
        return any(c.check(value) for c in self.alternatives)

    def describe(self) -> str:
        return " or ".join(c.describe() for c in self.alternatives)

    def parse(self, text: str) -> Any:
        for c in self.alternatives:
            v = c.parse(text)
            if c.check(v):
                return v
        return text


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------- declaring fields


REQUIRED = MISSING  # the default of an option that has none: it must be given


def option(
    default: Any,
    constraint: Constraint,
    help: str,
    *,
    cli: bool = True,
    group: str = "",
    metavar: str | None = None,
    default_text: str | None = None,
) -> Any:
    """A dataclass field with its default, its constraint and the reason/help text, declared together.

    ``cli=False`` keeps it off the command line (set from code or a config file only);
    ``default_text`` is shown in ``--help`` instead of the default value.
    """
    meta = {
        "constraint": constraint,
        "help": help,
        "cli": cli,
        "group": group,
        "metavar": metavar,
        "default_text": default_text,
    }
    if default is REQUIRED:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


def borrow(
    owner: type,
    name: str,
    *,
    also: tuple[tuple[type, str], ...] = (),
    help: str | None = None,
    group: str = "",
) -> Any:
    """Reuse field ``name`` of config class ``owner``: same default, constraint and help.

    ``also`` names further ``(config class, field)`` pairs this value feeds (``emb_dim`` is both the
    models' embedding width and the FastText dimension). :func:`sub_config` follows these links.
    """
    src = owner.__dataclass_fields__[name]
    meta = dict(src.metadata)
    meta.update({"feeds": ((owner, name), *also), "group": group or meta.get("group", "")})
    if help is not None:
        meta["help"] = help
    if src.default is not MISSING:
        return field(default=src.default, metadata=meta)
    return field(default_factory=src.default_factory, metadata=meta)


def declared(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` that carry a constraint."""
    return [f for f in dataclasses.fields(cls) if "constraint" in f.metadata]


def sub_config(source: Any, target: type, **extra: Any) -> Any:
    """Build ``target`` from the fields of ``source`` that feed it (see :func:`borrow`), plus ``extra``."""
    values = {}
    for f in dataclasses.fields(source):
        for cls, name in f.metadata.get("feeds", ()):
            if cls is target:
                values[name] = getattr(source, f.name)
    return target(**{**values, **extra})


# --------------------------------------------------------------------------- checking


_COMMAND_LINE: contextvars.ContextVar[bool] = contextvars.ContextVar("command_line", default=False)


@contextlib.contextmanager
def command_line_names() -> Iterator[None]:
    """Within this block, messages name every option by its command-line flag (``--keep-jamo``)."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def label(obj_or_cls: Any, name: str) -> str:
    """How an option is named in messages: ``--lr`` for a command-line config, ``TrainConfig.lr``
    otherwise."""
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    if getattr(cls, "CLI", False) or _COMMAND_LINE.get():
        return f"--{name.replace('_', '-')}"
    return f"{cls.__name__}.{name}"


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 80, 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def shown(value: Any, limit: int = 120) -> str:
    """A short ``repr`` of a value for a message: nesting, long strings and long lists are cut, so
    neither a 400 KB value nor a YAML structure of a billion shared parts is ever rendered whole.

    >>> shown("x" * 500, 20)
    "'xxxxxxxxxxxxxxxx..."
    >>> shown([[[[[1]]]]])
    '[[[[...]]]]'
    """
    return shorten(_REPR.repr(value), limit)


def invalid(obj_or_cls: Any, name: str, expected: str, value: Any, problem: str = "") -> ConfigError:
    """The one message template of every invalid option (the value shown shortened)."""
    return ConfigError(
        f"{label(obj_or_cls, name)} must be {expected} (got {shown(value)}"
        f"{': ' + shorten(problem, 200) if problem else ''})"
    )


def validate(obj: Any) -> None:
    """Normalize and check every declared field of the dataclass ``obj``; the first bad one raises.

    Raises
    ------
    ConfigError
        Naming the option, what it must be and what it got.
    """
    for f in declared(type(obj)):
        c: Constraint = f.metadata["constraint"]
        value = c.normalize(getattr(obj, f.name))
        if not c.check(value):
            raise invalid(obj, f.name, c.describe(), getattr(obj, f.name), c.problem(value))
        object.__setattr__(obj, f.name, value)


def parse_values(cls: type, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{option: value}`` from a command line or file into typed values for ``cls``.

    Keys may use ``-`` or ``_``. Strings are parsed by each field's constraint (so ``"0.5"``,
    ``"NN,VV"``, ``"false"`` and ``"none"`` mean what they say); other values are kept for
    :func:`validate` to check. Unknown keys are a :class:`ConfigError` listing the valid ones.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        f = fields.get(name)
        if f is None:
            valid = ", ".join(sorted(n for n, fl in fields.items() if "constraint" in fl.metadata))
            raise ConfigError(f"unknown option '{key}'; valid options: {valid}")
        c = f.metadata.get("constraint")
        if c is not None and isinstance(value, str):
            value = c.parse(value)
        out[name] = value
    return out


# --------------------------------------------------------------------------- typed option values

POLICY_KINDS = ("f1", "precision", "recall", "fixed")
POLICY_FORMS = "f1, precision:X, recall:X (0 < X <= 1) or fixed:X (0 <= X <= 1)"


@dataclass(frozen=True)
class ThresholdPolicy(Record):
    """How a binary model's decision threshold is chosen on validation: ``kind`` and its ``target``.

    ``str(policy)`` is the canonical text form (``"precision:0.99"``, ``"f1"``), which
    :meth:`parse` reads back.
    """

    kind: str
    target: float | None = None

    def __str__(self) -> str:
        return self.kind if self.target is None else f"{self.kind}:{self.target:g}"

    def __json__(self) -> str:
        return str(self)

    @classmethod
    def __from_json__(cls, value: Any, where: str) -> ThresholdPolicy:
        try:
            return cls.parse(value)
        except ConfigError:
            raise problem(where, "a threshold policy", value) from None

    @classmethod
    def parse(cls, text: Any) -> ThresholdPolicy:
        """A policy from its text form (case and surrounding spaces ignored); a policy is returned as is.

        Raises
        ------
        ConfigError
            For anything but ``f1``, ``precision:X``, ``recall:X`` (``0 < X <= 1``) or ``fixed:X``
            (``0 <= X <= 1``); the message lists the valid forms.

        Examples
        --------
        >>> ThresholdPolicy.parse("precision:0.99")
        ThresholdPolicy(kind='precision', target=0.99)
        >>> str(ThresholdPolicy.parse(" F1 "))
        'f1'
        """
        if isinstance(text, ThresholdPolicy):
            return text
        bad = ConfigError(f"invalid threshold policy {text!r}: use {POLICY_FORMS}")
        if not isinstance(text, str):
            raise bad
        kind, sep, number = text.strip().lower().partition(":")
        kind, number = kind.strip(), number.strip()
        if kind == "f1" and not sep:
            return cls("f1")
        if kind not in POLICY_KINDS or kind == "f1" or not number:
            raise bad
        try:
            target = float(number)
        except ValueError:
            raise bad from None
        low_ok = target >= 0 if kind == "fixed" else target > 0
        if not (math.isfinite(target) and low_ok and target <= 1):
            raise bad
        return cls(kind, target)


@dataclass(frozen=True)
class ClassWeights(Record):
    """``--class-weight``: ``"none"``, ``"balanced"`` (inverse class frequency) or given weights per label."""

    mode: str = "none"  # none, balanced or given
    weights: dict[str, float] = field(default_factory=dict)

    FORMS: ClassVar[str] = "none, balanced or LABEL=W,... with positive numbers W"

    def __str__(self) -> str:
        if self.mode != "given":
            return self.mode
        return ",".join(f"{label}={w:g}" for label, w in self.weights.items())

    def __json__(self) -> str:
        return str(self)

    @classmethod
    def __from_json__(cls, value: Any, where: str) -> ClassWeights:
        try:
            return cls.parse(value)
        except ConfigError:
            raise problem(where, "class weights", value) from None

    @classmethod
    def parse(cls, spec: Any) -> ClassWeights:
        """``"none"``, ``"balanced"`` or ``"a=2,b=0.5"`` (a mapping works too); ConfigError otherwise.

        >>> ClassWeights.parse("스팸문자=3").weights
        {'스팸문자': 3.0}
        """
        if isinstance(spec, ClassWeights):
            return spec
        if isinstance(spec, dict):
            spec = ",".join(f"{k}={v}" for k, v in spec.items())
        bad = ConfigError(f"invalid class weights {spec!r}: use {cls.FORMS}")
        if not isinstance(spec, str):
            raise bad
        spec = spec.strip()
        if spec in ("none", "balanced"):
            return cls(spec)
        weights: dict[str, float] = {}
        for part in spec.split(","):
            label, sep, number = part.rpartition("=")
            try:
                w = float(number)
            except ValueError:
                raise bad from None
            if not sep or not label.strip() or label.strip() in weights or not (0 < w < math.inf):
                raise bad
            weights[label.strip()] = w
        return cls("given", weights)
