"""Search strategies: each wraps one Optuna sampler, so the study loop never changes.

A strategy builds its sampler from the space, the seed, the number of objectives and the
constraints function (Optuna's ``constraints_func``, reading the trial's ``constraints`` user
attribute), and may cap the number of trials (a grid has only so many points).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Sequence

from hwloop.traces import InputError

from ._space import Space

#: How many points a grid search may enumerate.
GRID_LIMIT = 1_000_000


def constraints_of(trial: Any) -> Sequence[float]:
    """Optuna's ``constraints_func``: violations stored by the objective (<= 0 is met)."""
    return trial.user_attrs.get("constraints", (0.0,))


def has_set_constraint() -> bool:
    """Optuna >= 5 takes constraints from ``Trial.set_constraint`` (``constraints_func`` is
    deprecated there); older versions need ``constraints_func``."""
    import optuna

    return hasattr(optuna.trial.Trial, "set_constraint")


def _constraints(constraints_func: Callable[[Any], Sequence[float]]) -> dict[str, Any]:
    return {} if has_set_constraint() else {"constraints_func": constraints_func}


class Strategy(ABC):
    """A named way of choosing the next design point."""

    name: str = ""
    #: Worker processes get seeds seed, seed+1, ... so they do not draw the same points; a
    #: strategy whose order must agree across processes (the grid) turns this off.
    seed_per_worker: bool = True

    @abstractmethod
    def sampler(self, space: Space, seed: int, n_objectives: int,
                constraints_func: Callable[[Any], Sequence[float]]) -> Any:
        """The Optuna sampler for this search (one per process)."""

    def max_trials(self, space: Space) -> int | None:
        """Most trials worth running; None = no limit."""
        return None

    def check(self, space: Space, n_objectives: int) -> None:
        """Raise ``InputError`` if this strategy cannot search ``space`` (default: it can)."""


class RandomStrategy(Strategy):
    name = "random"

    def sampler(self, space, seed, n_objectives, constraints_func):
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)


class TPEStrategy(Strategy):
    name = "tpe"

    def sampler(self, space, seed, n_objectives, constraints_func):
        import optuna

        return optuna.samplers.TPESampler(seed=seed, **_constraints(constraints_func),
                                          multivariate=True, n_startup_trials=5)


class NSGA2Strategy(Strategy):
    name = "nsga2"

    def sampler(self, space, seed, n_objectives, constraints_func):
        import optuna

        return optuna.samplers.NSGAIISampler(seed=seed, **_constraints(constraints_func),
                                             population_size=min(50, max(8, space.size // 10)))


class GPStrategy(Strategy):
    """Constrained Bayesian optimisation with Optuna's ``GPSampler`` (needs torch, scipy)."""

    name = "gp"

    def check(self, space, n_objectives):
        import optuna

        if not hasattr(optuna.samplers, "GPSampler"):
            raise InputError(f"optuna {optuna.__version__} has no GPSampler; install "
                             f"optuna>=4.2", field="--sampler")
        missing = [m for m in ("torch", "scipy") if not _importable(m)]
        if missing:
            raise InputError(f"the gp sampler needs {' and '.join(missing)}; install them "
                             f"(pip install {' '.join(missing)})", field="--sampler")

    def sampler(self, space, seed, n_objectives, constraints_func):
        import optuna

        return optuna.samplers.GPSampler(seed=seed, **_constraints(constraints_func),
                                         n_startup_trials=5)


class GridStrategy(Strategy):
    """Every point of a finite space exactly once (Optuna's ``GridSampler``, which gives trial
    number ``i`` grid point ``i``; resumes re-run only points whose trial never finished)."""

    name = "grid"
    seed_per_worker = False  # every process must shuffle the grid the same way

    def check(self, space, n_objectives):
        if not space.is_finite or space.size > GRID_LIMIT:
            raise InputError(f"a grid search needs a finite space of at most {GRID_LIMIT:,} "
                             f"points; this one has {space.size:,}", field="--sampler")

    def max_trials(self, space):
        return space.size

    def sampler(self, space, seed, n_objectives, constraints_func):
        import optuna

        grid = {p.name: list(p.choices()) for p in space.params}
        return optuna.samplers.GridSampler(grid, seed=seed)


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    RandomStrategy(), TPEStrategy(), NSGA2Strategy(), GPStrategy(), GridStrategy())}


def get_strategy(name: str) -> Strategy:
    """A strategy by name; see :data:`STRATEGIES`."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InputError(f"unknown sampler {name!r}; choose from {', '.join(STRATEGIES)}",
                         field="--sampler") from None


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
