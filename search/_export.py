"""HW-NAS-Bench-style tables: every network x hardware point of a grid with its latency,
energy, EDP and area (and any plug-in objectives the search measured), as Parquet or CSV.

``hwloop search --export TABLE`` runs the space's grid (each point once, cached like any
search) and writes this table beside the study's own files, all or none.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from hwloop.traces import InputError, Network

from ._plugins import Family
from ._space import Space, network_params

#: The formats a table may have, by file suffix.
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
#: The simulator's columns, in the order HW-NAS-Bench lists its metrics.
MEASURED = ("latency", "energy", "edp", "area")


def check_export(path: str | Path) -> str:
    """The format of ``path`` (from its suffix); a suffix hwloop cannot write, or Parquet
    without a Parquet engine, is an ``InputError`` on ``--export`` before anything runs."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{str(path)!r}: name a .parquet or .csv file", field="--export")
    kind = FORMATS[suffix]
    if kind == "parquet" and not _has_parquet_engine():
        raise InputError("Parquet needs pyarrow: pip install 'hwloop[parquet]' (or write a "
                         ".csv)", field="--export")
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise InputError(f"no folder {str(folder)!r} for {str(path)!r}", field="--export")
    return kind


def export_rows(study: Any, space: Space, network: Network | None,
                objectives: Sequence[str]) -> list[dict[str, Any]]:
    """One row per finished trial: ``network`` (its name), the point's network parameters,
    its hardware parameters, the measured columns, the plug-in objectives asked for, and
    ``error`` (empty where the point was measured)."""
    from optuna.trial import TrialState

    extra = [o for o in objectives if o not in MEASURED]
    rows = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        point = {name: trial.params.get(name) for name in space.names}
        measured = trial.user_attrs.get("objectives", {})
        row = {"network": _network_name(point, network, space.family), **point}
        row.update({name: measured.get(name) for name in (*MEASURED, *extra)})
        failed = trial.user_attrs.get("error") or trial.user_attrs.get("rejected")
        row["error"] = None if measured else failed
        rows.append(row)
    return sorted(rows, key=lambda r: [str(r[name]) for name in space.names])


def table_writer(rows: list[dict[str, Any]], path: str | Path) -> Callable[[Path], object]:
    """Renders ``rows`` into a temporary file in the format of ``path``'s suffix."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows)
    if FORMATS[Path(path).suffix.lower()] == "parquet":
        return lambda tmp: frame.to_parquet(tmp, index=False)
    return lambda tmp: frame.to_csv(tmp, index=False)


def _network_name(point: dict[str, Any], network: Network | None,
                  family: Family | None) -> str | None:
    if family is None:
        return network.name if network is not None else None
    try:
        return family.network(network_params(point)).name
    except InputError:
        return None  # the family fails on this point: its error says why


def _has_parquet_engine() -> bool:
    from importlib.util import find_spec

    return find_spec("pyarrow") is not None or find_spec("fastparquet") is not None

