"""Budgeted hyper-parameter search (``pipeline.py tune``, Optuna: the ``[tune]`` extra).

:mod:`.space` declares what a trial samples (extensible to new model families), :mod:`.study` runs
the search on the validation split and the best configuration once on the test split, :mod:`.report`
writes the tuning report.
"""

from .space import FAMILY_PARAMS, Param, SearchSpace, build_space, register_family
from .study import run_tune

__all__ = ["FAMILY_PARAMS", "Param", "SearchSpace", "build_space", "register_family", "run_tune"]
