"""What a search leaves behind: the trial table, the Pareto front and two plots.

Every file is written to a temporary name beside its target and renamed, so a reader (or a
killed run) never sees half a file.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ._oracle import MAXIMISED
from ._space import Space


@dataclass(frozen=True, kw_only=True)
class StudyResult:
    """A finished (or resumed and finished) search: its rows and where they were written."""

    study_name: str
    storage: str
    objectives: tuple[str, ...]
    #: One dict per finished trial: ``trial``, each parameter, each objective (None when the
    #: point was not simulated), ``feasible``, ``simulated``.
    trials: tuple[dict[str, Any], ...]
    #: The feasible, non-dominated trials (``accuracy`` maximised, the rest minimised).
    pareto: tuple[dict[str, Any], ...]
    #: Simulations this call ran (the rest of its evaluations came from the cache).
    simulations: int
    seconds: float
    files: tuple[Path, ...]

    @property
    def best(self) -> dict[str, Any] | None:
        """The feasible trial with the best (smallest; largest accuracy) first objective."""
        first = self.objectives[0]
        return min(self.pareto, key=lambda r: _signed(first, r[first]), default=None)


def trial_rows(study: Any, space: Space, objectives: Sequence[str]) -> list[dict[str, Any]]:
    """One row per finished trial, simulated or rejected without simulating."""
    from optuna.trial import TrialState

    rows = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        measured = trial.user_attrs.get("objectives", {})
        constraints = trial.user_attrs.get("constraints", [0.0])
        row: dict[str, Any] = {"trial": trial.number}
        row.update({name: trial.params.get(name) for name in space.names})
        row.update({name: measured.get(name) for name in objectives})
        row["feasible"] = bool(measured) and all(c <= 0 for c in constraints)
        row["simulated"] = bool(trial.user_attrs.get("simulated"))
        rows.append(row)
    return rows


def pareto_rows(rows: Sequence[dict[str, Any]], objectives: Sequence[str]) -> list[dict]:
    """The feasible rows no other feasible row dominates (ties keep the earliest trial)."""
    feasible = [r for r in rows if r["feasible"]]
    front: list[dict] = []
    seen: set[tuple] = set()
    def signed(row: dict) -> tuple:  # every objective as one to minimise
        return tuple(_signed(o, row[o]) for o in objectives)

    for row in sorted(feasible, key=lambda r: [*signed(r), r["trial"]]):
        values = signed(row)
        if values in seen:
            continue
        if not any(_dominates(signed(f), values) for f in front):
            front.append(row)
            seen.add(values)
    return front


def write_outputs(study: Any, space: Space, objectives: Sequence[str], out: Path, *,
                  simulations: int, seconds: float, storage: str) -> StudyResult:
    rows = trial_rows(study, space, objectives)
    front = pareto_rows(rows, objectives)
    columns = ["trial", *space.names, *objectives, "feasible", "simulated"]
    files = [out / "trials.csv", out / "pareto.csv"]
    _write_atomic(files[0], _csv(rows, columns))
    _write_atomic(files[1], _csv(front, columns))
    files += _plots(rows, front, objectives, out)
    return StudyResult(study_name=study.study_name, storage=storage, objectives=tuple(objectives),
                       trials=tuple(rows), pareto=tuple(front), simulations=simulations,
                       seconds=seconds, files=tuple(files))


def _plots(rows: Sequence[dict], front: Sequence[dict], objectives: Sequence[str],
           out: Path) -> list[Path]:
    """Optimisation history (best feasible first objective so far) and, for two objectives,
    the Pareto front."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    first = objectives[0]
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    done = [r for r in rows if r["feasible"]]
    ax.scatter([r["trial"] for r in done], [r[first] for r in done], s=10, label="feasible trial")
    best, xs, ys = float("inf"), [], []
    for r in sorted(done, key=lambda r: r["trial"]):
        best = min(best, _signed(first, r[first]))
        xs.append(r["trial"])
        ys.append(_signed(first, best))
    ax.step(xs, ys, where="post", color="C3", label="best so far")
    ax.set(xlabel="trial", ylabel=first, title="optimisation history")
    ax.legend()
    paths = [out / "history.png"]
    _save(fig, paths[0])
    if len(objectives) == 2:
        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
        a, b = objectives
        ax.scatter([r[a] for r in done], [r[b] for r in done], s=10, color="0.7", label="feasible")
        ax.plot([r[a] for r in front], [r[b] for r in front], "o-", color="C3", label="Pareto front")
        ax.set(xlabel=a, ylabel=b, title="Pareto front")
        ax.legend()
        paths.append(out / "pareto.png")
        _save(fig, paths[1])
    return paths


def _signed(objective: str, value: float) -> float:
    """``value`` as a number to minimise (a maximised objective negated)."""
    return -value if objective in MAXIMISED else value


def _dominates(a: tuple, b: tuple) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def _csv(rows: Sequence[dict], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else
                             str(row[k]).lower() if isinstance(row.get(k), bool) else row[k])
                         for k in columns})
    return buffer.getvalue()


def _save(fig: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    _readable(tmp)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    _readable(tmp)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _readable(path: str) -> None:
    """Give a temporary file the permissions a plain ``open`` would (mkstemp makes 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)
