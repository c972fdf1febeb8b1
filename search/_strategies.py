"""Search strategies: each wraps one Optuna sampler, so the study loop never changes.

A strategy builds its sampler from the space, the seed, the number of objectives and the
constraints function (Optuna's ``constraints_func``, reading the trial's ``constraints`` user
attribute), and may cap the number of trials (a grid has only so many points).
"""
from __future__ import annotations

import functools
import warnings
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
    """Uniform draws, each seeded by the seed, the trial number and the parameter, so trial
    ``n`` gets the same point whichever worker runs it and whenever: a search with
    ``--workers K`` gives the same trials for a seed as one with one worker."""

    name = "random"
    seed_per_worker = False  # per-trial seeds already differ; every worker needs the same one

    def sampler(self, space, seed, n_objectives, constraints_func):
        return _per_trial_random()(seed=seed)


class TPEStrategy(Strategy):
    """Multivariate TPE that redraws a point the study has already finished (on a small
    discrete space plain TPE spends about a quarter of its trials on repeats), with a heavier
    prior and fewer expected-improvement candidates than Optuna's defaults (1.0 and 24): its
    Parzen estimators stay broader, so it keeps exploring instead of settling on the first
    good region (on ``benchmarks/bench_search.py`` the optimum is one point at the edge of the
    feasible area)."""

    name = "tpe"
    #: Random points before TPE models the study, draws per trial before accepting a repeat,
    #: the prior's weight in the Parzen estimators and the candidates drawn per trial; tuned
    #: on ``benchmarks/bench_search.py`` (see ``benchmarks/README.md``).
    n_startup_trials = 20
    redraws = 8
    prior_weight = 3.0
    n_ei_candidates = 12

    def sampler(self, space, seed, n_objectives, constraints_func):
        return _fresh_tpe()(seed=seed, **_constraints(constraints_func), multivariate=True,
                            n_startup_trials=self.n_startup_trials, redraws=self.redraws,
                            prior_weight=self.prior_weight,
                            n_ei_candidates=self.n_ei_candidates)


class NSGA2Strategy(Strategy):
    name = "nsga2"

    def sampler(self, space, seed, n_objectives, constraints_func):
        import optuna

        return optuna.samplers.NSGAIISampler(seed=seed, **_constraints(constraints_func),
                                             population_size=min(50, max(8, space.size // 10)))


class GPStrategy(Strategy):
    """Constrained Bayesian optimisation with Optuna's ``GPSampler`` (needs torch, scipy)."""

    name = "gp"
    #: Random points before the GP is fitted; tuned on ``benchmarks/bench_search.py``.
    n_startup_trials = 10

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

        # The simulator is deterministic: the GP then fits without observation noise (an
        # experimental argument, whose warning is silenced).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.GPSampler(seed=seed, **_constraints(constraints_func),
                                             n_startup_trials=self.n_startup_trials,
                                             deterministic_objective=True)


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


@functools.cache
def _fresh_tpe() -> type:
    """``TPESampler`` whose joint draw is repeated (up to ``redraws`` times) while it names a
    point of a finished trial; a point it cannot move off finished ones is drawn at random.
    Deterministic for a seed: the redraws use the sampler's RNG. ``prior_weight`` is deprecated
    since Optuna 4.9 (its warning is silenced) and due to go in 6.0: where the argument is
    gone it is set on the Parzen estimator parameters if they still have it, else dropped."""
    import inspect

    import optuna
    from optuna.trial import TrialState

    takes_prior_weight = "prior_weight" in inspect.signature(
        optuna.samplers.TPESampler.__init__).parameters

    class FreshTPESampler(optuna.samplers.TPESampler):
        def __init__(self, *, redraws: int, prior_weight: float | None = None,
                     **kwargs: Any) -> None:
            if prior_weight is not None and takes_prior_weight:
                kwargs["prior_weight"] = prior_weight
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*prior_weight", category=FutureWarning)
                super().__init__(**kwargs)
            params = getattr(self, "_parzen_estimator_parameters", None)
            if (prior_weight is not None and not takes_prior_weight and params is not None
                    and hasattr(params, "prior_weight") and hasattr(params, "_replace")):
                self._parzen_estimator_parameters = params._replace(prior_weight=prior_weight)
            self._redraws = redraws
            self._stuck: set[Any] = set()

        def sample_relative(self, study, trial, search_space):
            params = super().sample_relative(study, trial, search_space)
            if not params:
                return params
            done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            seen = {_key(t.params, params) for t in done}
            for _ in range(self._redraws):
                if _key(params, params) not in seen:
                    return params
                params = super().sample_relative(study, trial, search_space)
            self._stuck.add(trial.number)  # TPE keeps naming finished points: draw at random
            return {}

        def sample_independent(self, study, trial, param_name, param_distribution):
            if trial.number in self._stuck:
                return self._random_sampler.sample_independent(
                    study, trial, param_name, param_distribution)
            return super().sample_independent(study, trial, param_name, param_distribution)

    return FreshTPESampler


@functools.cache
def _per_trial_random() -> type:
    """``RandomSampler`` whose draw for a parameter of trial ``n`` comes from a generator seeded
    by (seed, n, parameter name) instead of one stream shared by the process's trials."""
    import zlib

    import numpy as np
    import optuna

    class PerTrialRandomSampler(optuna.samplers.RandomSampler):
        def __init__(self, *, seed: int) -> None:
            super().__init__(seed=seed)
            self._base_seed = seed

        def sample_independent(self, study, trial, param_name, param_distribution):
            entropy = [self._base_seed % 2**32, trial.number, zlib.crc32(param_name.encode())]
            state = np.random.SeedSequence(entropy).generate_state(1)[0]
            draw = optuna.samplers.RandomSampler(seed=int(state))
            return draw.sample_independent(study, trial, param_name, param_distribution)

    return PerTrialRandomSampler


def _key(params: dict[str, Any], names: dict[str, Any]) -> tuple:
    return tuple(params.get(name) for name in sorted(names))


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
