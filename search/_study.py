"""``run_search``: an Optuna study over a design space, with the oracle as its objective.

The study lives in Optuna storage (SQLite by default), so a killed search resumes: trials the
dead run left RUNNING are marked failed and their points queued again, and only the trials
still missing from the requested total run. ``workers > 1`` starts that many processes
(``spawn``); each loads the study from the shared storage, opens its own oracle store and
runs its share of the remaining trials, so the total is exact.
"""
from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from hwloop.arch import Accelerator
from hwloop.traces import InputError, Network

from ._oracle import MAXIMISED, NETWORK_OBJECTIVES, OBJECTIVES, Oracle
from ._outputs import StudyResult, write_outputs
from ._space import Space, apply_point
from ._strategies import constraints_of, get_strategy, has_set_constraint

logger = logging.getLogger(__name__)
DEFAULT_STUDY = "hwloop-search"
CACHE_NAME = "cache.db"


@dataclass(frozen=True, kw_only=True)
class _Objective:
    """One trial: draw a point, reject it statically or simulate it, record constraints."""

    space: Space
    objectives: tuple[str, ...]
    oracle: Oracle

    def __call__(self, trial: Any) -> list[float]:
        point = self.space.suggest(trial)
        constraints = self.space.constraints
        names = constraints.declared()
        violations = {name: 0.0 for name in names}
        trial.set_user_attr("simulated", False)
        try:
            accel, _ = apply_point(point, self.oracle.base, self.oracle.network)
            violations.update(constraints.static_violations(accel))
            if any(v > 0 for v in violations.values()):
                return self._reject(trial, names, violations, "static constraints")
            values = self.oracle.evaluate(point)
            if "accuracy" in self.objectives:
                values = {**values, "accuracy": self.oracle.accuracy(point)}
            if "analog_accuracy" in self.objectives:
                values = {**values, "analog_accuracy": self.oracle.analog_accuracy(point)}
        except (InputError, ValueError, TypeError) as exc:  # not a valid accelerator
            return self._reject(trial, names, violations, str(exc), valid=False)
        violations.update(constraints.dynamic_violations(values))
        trial.set_user_attr("simulated", True)
        trial.set_user_attr("objectives", values)
        _record_constraints(trial, violations, valid=True)
        return [values[name] for name in self.objectives]

    def _reject(self, trial: Any, names: Sequence[str], violations: dict[str, float],
                reason: str, valid: bool = True) -> list[float]:
        """A point refused without simulating: worst values, its violations recorded."""
        trial.set_user_attr("rejected", reason)
        _record_constraints(trial, violations, valid=valid)
        return [-math.inf if name in MAXIMISED else math.inf for name in self.objectives]


def _record_constraints(trial: Any, violations: dict[str, float], *, valid: bool) -> None:
    """Violations (<= 0 is met), plus ``valid`` (1 for a point that is no accelerator), as the
    user attribute ``constraints`` and, on Optuna >= 5, through ``Trial.set_constraint``."""
    values = {**violations, "valid": 0.0 if valid else 1.0}
    trial.set_user_attr("constraints", list(values.values()))
    if has_set_constraint():
        for name, value in values.items():
            trial.set_constraint(name, value)


def run_search(space: Space, network: Network | None, objectives: Sequence[str], sampler: str,
               trials: int, seed: int = 0, workers: int = 1, storage: str | None = None,
               study_name: str | None = None, out_dir: str | Path = "search-out", *,
               base: Accelerator | None = None, progress: bool = False,
               dask: str | None = None) -> StudyResult:
    """Run (or resume) a search until the study holds ``trials`` finished trials, then write
    ``trials.csv``, ``pareto.csv`` and plots into ``out_dir``. ``accuracy`` is maximised, the
    other objectives minimised. A space with ``net_*`` parameters builds each point's network
    (``network`` may then be None). ``dask`` runs the ``workers`` shares as tasks on the
    Dask scheduler at that address instead of local processes."""
    import optuna

    objectives = tuple(objectives)
    _check_objectives(objectives, space)
    strategy = get_strategy(sampler)
    strategy.check(space, len(objectives))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    study_name = study_name or DEFAULT_STUDY
    cap = strategy.max_trials(space)
    total = trials if cap is None else min(trials, cap)
    oracle = Oracle(network, base or space.base_accelerator(), out / CACHE_NAME)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _open_study(storage, study_name, space, objectives, sampler, seed)
    _requeue_interrupted(study)
    remaining = max(0, total - _finished(study))
    shares = [remaining // workers + (i < remaining % workers) for i in range(workers)]
    job = dict(space=space, objectives=objectives, oracle=oracle, sampler=sampler,
               storage=storage, study_name=study_name)
    started = time.perf_counter()
    with _progress(total, _finished(study), progress) as bar:
        seeds = [seed + i if strategy.seed_per_worker else seed for i in range(workers)]
        if dask is not None:
            from ._dask import run_on_dask

            simulations = run_on_dask(dask, job, seeds, [s for s in shares if s], study, bar,
                                      _finished)
        elif workers == 1:
            simulations = _work(seed=seed, n_trials=remaining, bar=bar, **job)
        else:
            simulations = _pool(job, seeds, [s for s in shares if s], study, bar)
    elapsed = time.perf_counter() - started
    return write_outputs(study, space, objectives, out, simulations=simulations,
                         seconds=elapsed, storage=storage)


def _work(*, space: Space, objectives: tuple[str, ...], oracle: Oracle, sampler: str,
          storage: str, study_name: str, seed: int, n_trials: int, bar: Any = None) -> int:
    """Run ``n_trials`` trials of the stored study in this process; the simulations it ran."""
    import optuna

    strategy = get_strategy(sampler)
    study = optuna.load_study(study_name=study_name, storage=_storage(storage),
                              sampler=strategy.sampler(space, seed, len(objectives),
                                                       constraints_of))
    callbacks = [lambda _s, _t: bar.update(1)] if bar is not None else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about inf values and experimental APIs
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study.optimize(_Objective(space=space, objectives=objectives, oracle=oracle),
                       n_trials=n_trials, callbacks=callbacks, catch=())
    oracle.close()
    return oracle.simulations


def _pool(job: dict, seeds: list[int], shares: list[int], study: Any, bar: Any) -> int:
    """Run the shares in worker processes, advancing ``bar`` from the storage."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(shares), mp_context=context) as pool:
        futures = [pool.submit(_worker_entry, job, seeds[i], n) for i, n in enumerate(shares)]
        while not all(f.done() for f in futures):
            time.sleep(0.2)
            if bar is not None:
                bar.n = _finished(study)
                bar.refresh()
        return sum(f.result() for f in futures)


def _worker_entry(job: dict, seed: int, n_trials: int) -> int:
    return _work(seed=seed, n_trials=n_trials, **job)


def _open_study(storage: str, name: str, space: Space, objectives: tuple[str, ...],
                sampler: str, seed: int) -> Any:
    """Create the study, or load it and check it searches the same thing."""
    import optuna

    directions = ["maximize" if o in MAXIMISED else "minimize" for o in objectives]
    try:
        study = optuna.create_study(storage=_storage(storage), study_name=name,
                                    directions=directions, load_if_exists=True)
    except ValueError as exc:
        raise InputError(f"cannot use study {name!r}: {exc}", field="--study") from None
    recorded = {"objectives": list(objectives), "params": list(space.names)}
    attrs = study.user_attrs
    if not attrs:
        for key, value in {**recorded, "sampler": sampler, "seed": seed}.items():
            study.set_user_attr(key, value)
    else:
        for key, value in recorded.items():
            if attrs.get(key) != value:
                raise InputError(f"study {name!r} was run with {key} {attrs.get(key)}, not "
                                 f"{value}; use another --study or --out",
                                 field="--" + {"params": "space"}.get(key, key))
    return study


def _requeue_interrupted(study: Any) -> None:
    """Trials a killed run left RUNNING: mark them failed and queue the same point again
    (the grid point id, or the parameters chosen so far). Assumes no other run is live."""
    from optuna.trial import FrozenTrial, TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        attrs = {k: v for k, v in trial.system_attrs.items()
                 if k in ("grid_id", "search_space")}
        if trial.params and "grid_id" not in attrs:
            attrs["fixed_params"] = dict(trial.params)
        template = FrozenTrial(number=-1, state=TrialState.WAITING, value=None, values=None,
                               datetime_start=None, datetime_complete=None, params={},
                               distributions={}, user_attrs={"retry_of": trial.number},
                               system_attrs=attrs, intermediate_values={}, trial_id=-1)
        study._storage.create_new_trial(study._study_id, template_trial=template)
        logger.info("trial %d was interrupted; its point is queued again", trial.number)


def _finished(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _storage(url: str) -> Any:
    """Optuna storage; SQLite waits for locks instead of failing when workers collide."""
    import optuna

    if url.startswith("sqlite"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return url


def _check_objectives(objectives: tuple[str, ...], space: Space) -> None:
    if not objectives:
        raise InputError("name at least one objective", field="--objectives")
    for name in objectives:
        if name not in OBJECTIVES and name not in NETWORK_OBJECTIVES:
            raise InputError(f"unknown objective {name!r}; choose from "
                             f"{', '.join((*OBJECTIVES, *NETWORK_OBJECTIVES))}",
                             field="--objectives")
        if name in NETWORK_OBJECTIVES and not space.defines_network:
            raise InputError(f"the {name} objective needs a network space: [params.net_depth], "
                             "net_width or net_kernel in the space file", field="--objectives")
    if len(set(objectives)) != len(objectives):
        raise InputError("an objective is named twice", field="--objectives")


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def refresh(self) -> None:
        pass

    n = 0

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress(total: int, done: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="trial", desc="search", file=sys.stderr)
