"""``run_search``: an Optuna study over a design space, with the oracle as its objective.

The study lives in Optuna storage (SQLite by default), so a killed search resumes: trials the
dead run left RUNNING are marked failed and their points queued again, and only the trials
still missing from the requested total run. ``workers > 1`` starts that many processes
(``spawn``); each loads the study from the shared storage, opens its own oracle store and
runs its share of the remaining trials (``_trials``), so the total is exact; each dies with
the process that started it (``_parent_watch``).
"""
from __future__ import annotations

import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from hwloop.arch import Accelerator
from hwloop.traces import InputError, Network

from ._oracle import Oracle
from ._outputs import StudyResult, write_outputs
from ._parent_watch import watch_parent
from ._plugins import Family, Plugin, callable_objectives
from ._space import Space
from ._strategies import get_strategy
from ._trials import open_storage, run_trials, worker_entry

logger = logging.getLogger(__name__)
DEFAULT_STUDY = "hwloop-search"
CACHE_NAME = "cache.db"


def run_search(space: Space, network: Network | None, objectives: Sequence[str], sampler: str,
               trials: int, seed: int = 0, workers: int = 1, storage: str | None = None,
               study_name: str | None = None, out_dir: str | Path = "search-out", *,
               base: Accelerator | None = None, progress: bool = False,
               dask: str | None = None,
               family: str | Callable[..., Any] | None = None,
               functions: Mapping[str, Callable[..., Any] | tuple[Callable[..., Any], str]]
               | None = None,
               export: str | Path | None = None) -> StudyResult:
    """Run (or resume) a search until the study holds ``trials`` finished trials, then write
    ``trials.csv``, ``pareto.csv`` and plots into ``out_dir``. The simulator's objectives
    are minimised; a plug-in objective goes the way its ``direction`` says. A space with a
    workload family (``family``: a callable or ``module:function`` replacing the space's)
    builds each point's network (``network`` may then be None). ``dask`` runs the
    ``workers`` shares as tasks on the Dask scheduler at that address instead of local
    processes. ``functions`` adds objectives given as Python callables: ``{name: f}`` or
    ``{name: (f, "maximize")}`` (``f(params)`` per network, ``f(params, report)`` per point,
    as a space file's ``[objectives.NAME]``). ``export`` also writes every trial's network,
    parameters, latency, energy,
    EDP, area and plug-in objectives as a table (``.parquet`` or ``.csv``; a grid search
    makes it HW-NAS-Bench's network x hardware table)."""
    import optuna

    space = _with_plugins(space, family, functions)
    objectives = tuple(objectives)
    _check_objectives(objectives, space)
    strategy = get_strategy(sampler)
    strategy.check(space, len(objectives))
    if export is not None:
        from ._export import check_export

        check_export(export)
    out = _check_out(Path(out_dir))
    study_name = study_name or DEFAULT_STUDY
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A storage given is opened before anything is created, so a bad URL leaves nothing.
    study = None if storage is None else _open_study(storage, study_name, space, objectives,
                                                     sampler, seed)
    _make_out(out)
    storage = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    if study is None:
        study = _open_study(storage, study_name, space, objectives, sampler, seed)
    cap = strategy.max_trials(space)
    total = trials if cap is None else min(trials, cap)
    oracle = Oracle(network, base or space.base_accelerator(), out / CACHE_NAME,
                    family=space.family, objectives=space.plugin_objectives())
    oracle.layer_objective = layer_objective(objectives)
    _requeue_interrupted(study)
    job: dict[str, Any] = dict(space=space, objectives=objectives, oracle=oracle, sampler=sampler,
               storage=storage, study_name=study_name)
    started = time.perf_counter()
    simulations = _run_remaining(job, study, total, workers, seed, progress, dask)
    elapsed = time.perf_counter() - started
    table = None
    if export is not None:
        from ._export import export_rows

        table = (Path(export), export_rows(study, space, network, objectives))
    return write_outputs(study, space, objectives, out, simulations=simulations,
                         seconds=elapsed, storage=storage, export=table)


def _with_plugins(space: Space, family: Any, functions: Mapping[str, Any] | None) -> Space:
    """``space`` with a family and objectives given in Python (the family replaces the
    space file's)."""
    if family is not None:
        space = replace(space, family=Family(Plugin.of(family)))
    if functions:
        space = replace(space, objectives=(*space.objectives, *callable_objectives(functions)))
    return space


def _run_remaining(job: dict[str, Any], study: Any, total: int, workers: int, seed: int,
                   progress: bool, dask: str | None) -> int:
    """Run the trials the study still lacks, in this process, worker processes or Dask
    tasks; the simulations they ran."""
    remaining = max(0, total - _finished(study))
    if remaining == 0:  # a finished study: only the outputs are written again
        return 0
    shares = [s for s in (remaining // workers + (i < remaining % workers)
                          for i in range(workers)) if s]
    strategy = get_strategy(job["sampler"])
    seeds = [seed + i if strategy.seed_per_worker else seed for i in range(workers)]
    with _progress(total, _finished(study), progress) as bar:
        if dask is not None:
            from ._dask import run_on_dask

            return run_on_dask(dask, job, seeds, shares, study, bar, _finished)
        if workers == 1:
            return run_trials(seed=seed, n_trials=remaining, bar=bar, **job)
        return _pool(job, seeds, shares, study, bar)


def layer_objective(objectives: Sequence[str]) -> str:
    """What per-layer choices (the mapper, the dataflow) optimise: the study's one
    simulated objective, else EDP (the product of the two a co-design study trades)."""
    if len(objectives) == 1 and objectives[0] in ("latency", "energy", "edp"):
        return objectives[0]
    return "edp"


def _check_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise InputError(f"{str(out)!r} exists and is not a directory", field="--out")
    return out


def _make_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {str(out)!r} ({exc.strerror or exc})",
                         field="--out") from None


def _pool(job: dict, seeds: list[int], shares: list[int], study: Any, bar: Any) -> int:
    """Run the shares in worker processes, advancing ``bar`` from the storage."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(shares), mp_context=context,
                             initializer=watch_parent, initargs=(os.getpid(),)) as pool:
        futures = [pool.submit(worker_entry, job, seeds[i], n) for i, n in enumerate(shares)]
        while not all(f.done() for f in futures):
            time.sleep(0.2)
            if bar is not None:
                bar.n = _finished(study)
                bar.refresh()
        return sum(f.result() for f in futures)


def _open_study(storage: str, name: str, space: Space, objectives: tuple[str, ...],
                sampler: str, seed: int) -> Any:
    """Create the study, or load it and check it searches the same thing."""
    import optuna

    goals = space.directions()
    directions: list[Any] = [goals[o] for o in objectives]
    opened = open_storage(storage)
    try:
        study = optuna.create_study(storage=opened, study_name=name,
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


def _check_objectives(objectives: tuple[str, ...], space: Space) -> None:
    if not objectives:
        raise InputError("name at least one objective", field="--objectives")
    known = space.directions()
    for name in objectives:
        if name in ("accuracy", "analog_accuracy") and name not in known:
            raise InputError(f"the {name} objective needs a network space: [params.net_depth], "
                             "net_width or net_kernel in the space file", field="--objectives")
        if name not in known:
            raise InputError(f"unknown objective {name!r}; choose from {', '.join(known)} "
                             "(or declare it in the space file: [objectives.NAME])",
                             field="--objectives")
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
