"""The search space of ``pipeline.py tune``: which options a trial samples, over which values, for which
models.

Every parameter is an option of a run (:class:`~nlp_pp.config.ExperimentConfig` or its preprocessing
options), so a trial's values are a config file's values and the best trial becomes ``best.toml``
as it is. A parameter applies to every model family unless it is *family-specific*
(:data:`FAMILY_PARAMS`): a trial that samples ``cnn`` never samples ``pooling``. The model family and
the embedding initialisation are parameters too (``model``, ``init``), sampled among ``--models``
and ``--inits``.

A new model family joins the search with :func:`register_family` (its own parameters, besides the
common ones); a new value of an option with fixed choices (a pooling, say) is picked up from the
models' own declarations (:data:`nlp_pp.models.config.POOLINGS`) when the space is built.

A search-space file (``--space FILE``, TOML or YAML) changes the defaults below, one entry per
parameter::

    lr = { low = 0.0005, high = 0.005, log = true }
    hidden = { choices = [128, 256] }
    pooling = "max"              # a plain value: not searched, fixed for every trial

An unknown parameter, an unknown key or a value of the wrong kind is a :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..options import shown

MODEL = "model"  # the parameter that picks the model family
INIT = "init"  # the parameter that picks the embedding initialisation


@dataclass(frozen=True)
class Param:
    """One searched option: a float or int range (``log``: sampled on a log scale) or a list of choices.

    ``only_init``: sampled only for trials with this embedding initialisation (the few-label switches
    mean something for FastText-initialised embeddings only).
    """

    name: str
    kind: str  # "float", "int" or "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    only_init: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if not self.choices:
                raise ConfigError(f"search space: {self.name} needs at least one choice")
        elif self.kind in ("float", "int"):
            ok = (
                isinstance(self.low, (int, float))
                and isinstance(self.high, (int, float))
                and not isinstance(self.low, bool)
                and not isinstance(self.high, bool)
                and math.isfinite(self.low)
                and math.isfinite(self.high)
                and self.low <= self.high
                and (not self.log or self.low > 0)
            )
            if not ok:
                raise ConfigError(
                    f"search space: {self.name} needs numbers low <= high"
                    f"{' above 0 (log scale)' if self.log else ''} (got low={shown(self.low)}, "
                    f"high={shown(self.high)})"
                )
            if self.kind == "int" and not (float(self.low).is_integer() and float(self.high).is_integer()):
                raise ConfigError(
                    f"search space: {self.name} takes integer bounds (got {self.low}, {self.high})"
                )
        else:
            raise ConfigError(f"search space: unknown kind {self.kind!r} of {self.name}")

    @property
    def fixed(self) -> bool:
        """Whether it has a single value (not searched)."""
        return self.kind == "choice" and len(self.choices) == 1

    def suggest(self, trial) -> Any:
        """The value of this parameter for an Optuna trial."""
        if self.kind == "float":
            return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        if self.fixed:
            return self.choices[0]
        return trial.suggest_categorical(self.name, list(self.choices))

    def to_dict(self) -> dict:
        if self.kind == "choice":
            return {"choices": list(self.choices)}
        return {"low": self.low, "high": self.high, "log": self.log, "kind": self.kind}


def _default_params() -> list[Param]:
    from ..models.config import POOLINGS

    return [
        # training
        Param("lr", "float", 3e-4, 1e-2, log=True),
        Param("batch_size", "choice", choices=(32, 64, 128)),
        Param("dropout", "float", 0.0, 0.6),
        Param("class_weight", "choice", choices=("none", "balanced")),
        # model size and shape
        Param("hidden", "choice", choices=(64, 128, 256, 384)),
        Param("emb_dim", "choice", choices=(100, 200, 300)),
        Param("layers", "int", 1, 2),
        Param("bidirectional", "choice", choices=(True, False)),
        Param("pooling", "choice", choices=tuple(POOLINGS)),
        Param("filters", "choice", choices=(64, 100, 200)),
        Param("kernel_sizes", "choice", choices=("3,4,5", "2,3,4", "1,2,3")),
        # vocabulary and FastText (few values each, so settings repeat and their vectors are reused)
        Param("min_count", "int", 1, 5),
        Param("fasttext_epochs", "choice", choices=(5, 10, 20)),
        Param("fasttext_window", "choice", choices=(3, 5, 8)),
        # the few-label switches (FastText-initialised embeddings only)
        Param("freeze_embedding", "choice", choices=(True, False), only_init="fasttext"),
        Param("vocab_from_vectors", "choice", choices=(True, False), only_init="fasttext"),
        # preprocessing
        Param("keep_jamo", "choice", choices=(True, False)),
        Param("keep_punct", "choice", choices=(True, False)),
        Param("jamo", "choice", choices=(True, False)),
        Param("stopwords", "choice", choices=("none", "default")),
    ]


FAMILY_PARAMS: dict[str, frozenset[str]] = {
    "rnn": frozenset({"layers", "bidirectional", "pooling"}),
    "lstm": frozenset({"layers", "bidirectional", "pooling"}),
    "gru": frozenset({"layers", "bidirectional", "pooling"}),
    "cnn": frozenset({"filters", "kernel_sizes"}),
    "hybrid": frozenset({"layers", "filters", "kernel_sizes"}),
    "avg": frozenset(),
}
"""The family-specific parameters each model family uses (a family not listed gets none of them)."""

SPECIFIC = frozenset({"layers", "bidirectional", "pooling", "filters", "kernel_sizes"})
"""Parameters that only some families use (see :data:`FAMILY_PARAMS`); the others apply to all."""


def register_family(name: str, params: set[str] | frozenset[str], extra: list[Param] = ()) -> None:
    """Let the search sample model family ``name`` with these family-specific parameters; ``extra``
    declares parameters of its own (new options of :class:`~nlp_pp.models.config.ModelConfig`)."""
    global SPECIFIC
    FAMILY_PARAMS[name] = frozenset(params) | {p.name for p in extra}
    for p in extra:
        _EXTRA[p.name] = p
        SPECIFIC = SPECIFIC | {p.name}


_EXTRA: dict[str, Param] = {}


def family_params(model: str) -> frozenset[str]:
    """The family-specific parameters of ``model``: its own (:data:`FAMILY_PARAMS`), else those of the
    family its name ends with (``wide_gru`` -> ``gru``: a variant of a recurrent model), else none."""
    if model in FAMILY_PARAMS:
        return FAMILY_PARAMS[model]
    base = model.rsplit("_", 1)[-1]
    return FAMILY_PARAMS.get(base, frozenset()) if base != model else frozenset()


@dataclass(frozen=True)
class SearchSpace:
    """The parameters of a study, by name (:func:`build_space`)."""

    params: dict[str, Param]

    def applies(self, name: str, model: str, init: str) -> bool:
        """Whether parameter ``name`` is sampled for a trial of ``model`` with ``init``."""
        p = self.params[name]
        if p.only_init is not None and init != p.only_init:
            return False
        return name not in SPECIFIC or name in family_params(model)

    def sample(self, trial, models: tuple[str, ...], inits: tuple[str, ...]) -> dict[str, Any]:
        """A trial's values: ``model``, ``init`` and every parameter that applies to them."""
        model = models[0] if len(models) == 1 else trial.suggest_categorical(MODEL, list(models))
        init = inits[0] if len(inits) == 1 else trial.suggest_categorical(INIT, list(inits))
        values: dict[str, Any] = {MODEL: model, INIT: init}
        for name, p in self.params.items():
            if self.applies(name, model, init):
                values[name] = p.suggest(trial)
        return values

    def to_dict(self) -> dict:
        return {name: p.to_dict() for name, p in self.params.items()}

    def without(self, names: Iterable[str]) -> SearchSpace:
        """This space without the parameters ``names`` (their trials keep the options as given)."""
        left_out = set(names)
        return SearchSpace({k: p for k, p in self.params.items() if k not in left_out})


# what pretrained vectors fix: their width, the preprocessing of their tokens, their FastText options
BOUND_BY_VECTORS = (
    "emb_dim",
    "keep_jamo",
    "keep_punct",
    "jamo",
    "stopwords",
    "fasttext_epochs",
    "fasttext_window",
)


def build_space(overrides: Mapping[str, Any] | None = None, where: str = "the search space") -> SearchSpace:
    """The default space with ``overrides`` (a search-space file's entries) applied and checked."""
    params = {p.name: p for p in _default_params()}
    params.update(_EXTRA)
    for name, spec in (overrides or {}).items():
        key = str(name).replace("-", "_")
        if key not in params:
            raise ConfigError(
                f"{where}: unknown parameter {name!r}; the parameters are: {', '.join(sorted(params))}"
            )
        params[key] = _override(params[key], spec, where)
    return SearchSpace(params)


def _override(p: Param, spec: Any, where: str) -> Param:
    if not isinstance(spec, Mapping):  # a plain value: fixed
        if isinstance(spec, list):
            raise ConfigError(f"{where}: {p.name} = a list; write {p.name} = {{ choices = [...] }}")
        return dataclasses.replace(p, kind="choice", choices=(_choice(spec),), low=None, high=None, log=False)
    keys = set(spec)
    unknown = keys - {"low", "high", "log", "choices"}
    if unknown:
        raise ConfigError(
            f"{where}: {p.name} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; use low, high "
            "and log, or choices"
        )
    if "choices" in keys:
        if keys - {"choices"}:
            raise ConfigError(f"{where}: {p.name} takes either choices or low/high, not both")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: {p.name}.choices must be a non-empty list (got {shown(choices)})")
        return dataclasses.replace(
            p, kind="choice", choices=tuple(_choice(c) for c in choices), low=None, high=None, log=False
        )
    if p.kind == "choice" and not all(
        isinstance(c, (int, float)) and not isinstance(c, bool) for c in p.choices
    ):
        raise ConfigError(f"{where}: {p.name} takes choices = [...], not a range")
    kind = (
        p.kind if p.kind != "choice" else ("int" if all(isinstance(c, int) for c in p.choices) else "float")
    )
    log = spec.get("log", p.log)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: {p.name}.log must be true or false (got {shown(log)})")
    low, high = spec.get("low", p.low), spec.get("high", p.high)
    if low is None or high is None:
        raise ConfigError(f"{where}: {p.name} needs both low and high")
    return Param(p.name, kind, low, high, log=log, only_init=p.only_init)


def _choice(value: Any) -> Any:
    """A choice as a config value: lists (``kernel_sizes``) become their comma-separated text."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if value is None:
        return "none"
    if not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"search space: {shown(value)} is not a value an option takes")
    return value
