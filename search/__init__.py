"""Design-space search over accelerators, with ``hwloop.sim`` as the cost oracle.

Spaces are TOML data (:func:`load_space`); the :class:`Oracle` simulates each design point once
and caches it in SQLite; strategies wrap Optuna samplers (:data:`STRATEGIES`); and
:func:`run_search` runs or resumes a stored Optuna study and writes its tables and plots.
Imports only the public ``hwloop.sim``, ``hwloop.arch`` and ``hwloop.traces`` APIs.
"""
from ._oracle import OBJECTIVES, Oracle, point_key
from ._outputs import StudyResult, pareto_rows
from ._plugins import Family, Objective, Plugin
from ._space import Constraints, Param, Space, apply_point, run_options
from ._space_file import load_space
from ._strategies import STRATEGIES, Strategy, get_strategy
from ._study import run_search

__all__ = [
    "OBJECTIVES",
    "STRATEGIES",
    "Constraints",
    "Family",
    "Objective",
    "Oracle",
    "Param",
    "Plugin",
    "Space",
    "Strategy",
    "StudyResult",
    "apply_point",
    "get_strategy",
    "load_space",
    "pareto_rows",
    "point_key",
    "run_options",
    "run_search",
]
