"""Trials in one process: the objective each trial calls and the loop that runs a share.

``run_search`` (``_study``) runs a share here itself or hands shares to worker processes, and
``_dask`` hands them to Dask tasks; both call :func:`worker_entry`, so it lives below both.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from hwloop.traces import InputError

from ._oracle import Oracle
from ._space import Space, hardware_of
from ._strategies import constraints_of, get_strategy, has_set_constraint


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
            accel = self.oracle.base.with_overrides(**hardware_of(point))
            violations.update(constraints.static_violations(accel))
            if any(v > 0 for v in violations.values()):
                return self._reject(trial, names, violations, "static constraints")
            values = self.oracle.evaluate(point, self.objectives)
        except (InputError, ValueError, TypeError) as exc:  # no valid accelerator, or a
            trial.set_user_attr("error", str(exc))  # family or objective that failed
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
        maximised = self.space.directions()
        return [-math.inf if maximised.get(name) == "maximize" else math.inf
                for name in self.objectives]


def _record_constraints(trial: Any, violations: dict[str, float], *, valid: bool) -> None:
    """Violations (<= 0 is met), plus ``valid`` (1 for a point that is no accelerator), as the
    user attribute ``constraints`` and, on Optuna >= 5, through ``Trial.set_constraint``."""
    values = {**violations, "valid": 0.0 if valid else 1.0}
    trial.set_user_attr("constraints", list(values.values()))
    if has_set_constraint():
        for name, value in values.items():
            trial.set_constraint(name, value)


def run_trials(*, space: Space, objectives: tuple[str, ...], oracle: Oracle, sampler: str,
               storage: str, study_name: str, seed: int, n_trials: int, bar: Any = None) -> int:
    """Run ``n_trials`` trials of the stored study in this process; the simulations it ran."""
    import optuna

    strategy = get_strategy(sampler)
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage),
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


def worker_entry(job: dict, seed: int, n_trials: int) -> int:
    """One worker's share: ``job`` is ``run_trials``'s keywords less the seed and count."""
    return run_trials(seed=seed, n_trials=n_trials, **job)


def open_storage(url: str) -> Any:
    """Optuna storage at ``url``; one that cannot be opened (unknown scheme, missing driver,
    unreachable database) is an ``InputError`` naming ``--storage``. SQLite waits for locks
    instead of failing when workers collide."""
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    if url.startswith("journal://"):
        return _journal(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    try:
        return optuna.storages.RDBStorage(url, **kwargs)
    except (SQLAlchemyError, ImportError, ValueError, RuntimeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot open the study storage {_shown(url)!r} ({reason})",
                         field="--storage") from None


def _journal(url: str) -> Any:
    """Optuna's journal storage in the file ``journal:///PATH`` names: appends, not database
    transactions, so a trial costs a few milliseconds of storage instead of about fifty
    (``benchmarks/bench_codesign_rate.py``); several processes share it through file locks."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    path = Path(url[len("journal://"):])
    if not path.parent.is_dir():
        raise InputError(f"cannot open the study storage {url!r} (no folder {str(path.parent)!r})",
                         field="--storage")
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _shown(url: str) -> str:
    """``url`` with any password masked, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url
