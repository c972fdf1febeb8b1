"""What a search leaves behind: the trial table, the Pareto front and two plots, written
together (``hwloop.sim.report.OutputFiles``: a reader or a killed run never sees half a file,
nor one file of a study without the others), and the front as a table to print.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Sequence

from ._plots import UNITS, history_figure, pareto_figure, shown
from ._space import Space

#: Pareto points printed after a search; a longer front is shown evenly spaced.
SHOWN_POINTS = 20


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
    #: The space's parameter names, in its order.
    params: tuple[str, ...] = ()
    #: The objectives searched upwards (the simulator's are all minimised).
    maximised: frozenset[str] = frozenset()

    @property
    def best(self) -> dict[str, Any] | None:
        """The feasible trial with the best (smallest; largest accuracy) first objective."""
        first = self.objectives[0]
        return min(self.pareto, key=lambda r: _signed(first, r[first], self.maximised),
                   default=None)


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
        row["error"] = trial.user_attrs.get("error")
        rows.append(row)
    return rows


def pareto_rows(rows: Sequence[dict[str, Any]], objectives: Sequence[str],
                maximised: Collection[str] = ()) -> list[dict]:
    """The feasible rows no other feasible row dominates (ties keep the earliest trial;
    ``maximised``: the objectives searched upwards)."""
    feasible = [r for r in rows if r["feasible"]]
    front: list[dict] = []
    seen: set[tuple] = set()
    def signed(row: dict) -> tuple:  # every objective as one to minimise
        return tuple(_signed(o, row[o], maximised) for o in objectives)

    for row in sorted(feasible, key=lambda r: [*signed(r), r["trial"]]):
        values = signed(row)
        if values in seen:
            continue
        if not any(_dominates(signed(f), values) for f in front):
            front.append(row)
            seen.add(values)
    return front


def write_outputs(study: Any, space: Space, objectives: Sequence[str], out: Path, *,
                  simulations: int, seconds: float, storage: str,
                  export: tuple[Path, list[dict]] | None = None) -> StudyResult:
    """Write ``trials.csv``, ``pareto.csv`` and the plots into ``out`` (and ``export``: a
    table's path and rows), all together: each is rendered beside its target first, and only
    then are they all renamed into place."""
    from hwloop.sim.report import OutputFiles

    rows = trial_rows(study, space, objectives)
    maximised = frozenset(o for o, way in space.directions().items() if way == "maximize")
    front = pareto_rows(rows, objectives, maximised)
    columns = ["trial", *space.names, *objectives, "feasible", "simulated", "error"]
    tables = {out / "trials.csv": _csv(rows, columns), out / "pareto.csv": _csv(front, columns)}
    figures = {out / "history.png": lambda: history_figure(rows, objectives, maximised)}
    if len(objectives) == 2:
        figures[out / "pareto.png"] = lambda: pareto_figure(rows, front, objectives, maximised)
    with OutputFiles() as files:
        for path, text in tables.items():
            files.add(path, _text_writer(text), "--out")
        for path, figure in figures.items():
            files.add(path, _png_writer(figure()), "--out")
        if export is not None:
            from ._export import table_writer

            files.add(export[0], table_writer(export[1], export[0]), "--export")
        files.commit()
    return StudyResult(study_name=study.study_name, storage=storage, objectives=tuple(objectives),
                       trials=tuple(rows), pareto=tuple(front), simulations=simulations,
                       seconds=seconds, params=tuple(space.names),
                       files=(*tables, *figures, *([export[0]] if export else [])),
                       maximised=maximised)


def _text_writer(text: str) -> Callable[[Path], object]:
    return lambda tmp: tmp.write_text(text, newline="")


def _png_writer(figure: Any) -> Callable[[Path], object]:
    return lambda tmp: figure.savefig(tmp, format="png", dpi=110)


def _signed(objective: str, value: float, maximised: Collection[str]) -> float:
    """``value`` as a number to minimise (a maximised objective negated)."""
    return -value if objective in maximised else value


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


def pareto_table(result: StudyResult, limit: int = SHOWN_POINTS) -> str:
    """The Pareto front as a plain-text table: each objective in its unit (first objective
    ascending, or descending when maximised), then the parameters of the point."""
    feasible = sum(bool(r["feasible"]) for r in result.trials)
    if not result.pareto:
        return "no feasible trial: every point broke a constraint (see trials.csv)"
    chosen = _spread(result.pareto, limit)
    head = (f"Pareto front: {len(result.pareto)} of {feasible} feasible trials"
            + (f" ({len(chosen)} shown, evenly spaced; all in pareto.csv)"
               if len(chosen) < len(result.pareto) else ""))
    goals = ", ".join(f"{o} {'maximised' if o in result.maximised else 'minimised'}"
                      for o in result.objectives)
    columns = ["trial", *(f"{o} ({UNITS[o]})" if o in UNITS else o for o in result.objectives),
               *result.params]
    cells = [[str(r["trial"]), *(_value(o, r[o]) for o in result.objectives),
              *(_param(r.get(name)) for name in result.params)] for r in chosen]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(text.rjust(w) for text, w in zip(line, widths))
             for line in (columns, *cells)]
    return "\n".join([f"{head} ({goals}):", *lines])


def _spread(rows: Sequence[dict], limit: int) -> list[dict]:
    """At most ``limit`` rows, evenly spaced from the first to the last."""
    if len(rows) <= limit:
        return list(rows)
    if limit == 1:
        return [rows[0]]
    picks = sorted({round(i * (len(rows) - 1) / (limit - 1)) for i in range(limit)})
    return [rows[i] for i in picks]


def _value(objective: str, value: float) -> str:
    number = shown(objective, value)
    if objective == "latency":
        return f"{number:,.0f}"
    if UNITS.get(objective) == "%":
        return f"{number:.2f}"
    return f"{number:.3e}" if objective in ("energy", "edp") else f"{number:.4g}"


def _param(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)
