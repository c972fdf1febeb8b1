"""The one report type: per-layer rows as a pandas DataFrame, totals, and the config behind them."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ._files import write_atomic
from ._json import strict_json

#: Report columns, in order, with units. Array kinds add their own after ``col_folds``
#: (:func:`register_columns`).
COLUMNS: dict[str, str] = {
    "name": "layer name",
    "phase": "LLM runs: prefill or decode",
    "step": "LLM runs: decode step (0: the prefill)",
    "kind": "conv, depthwise or gemm; a vector operator's kind (relu, gelu, silu, softmax, "
            "layernorm, rmsnorm, pool, add, mul, rotary)",
    "array_kind": "systolic, bitfusion, bitserial, 2in1 or analog; vector for a vector "
                  "operator",
    "dataflow": "os, ws or is (the one chosen when the array searches)",
    "tiling": "fused arrays: MACs per PE along the reduction x along the columns",
    "mapping": "scalesim (SCALE-Sim's implicit schedule) or an explicit mapping: dataflow, "
               "tiles and DRAM loop order",
    "weight_bits": "bits",
    "act_bits": "bits (ifmaps and ofmaps)",
    "macs_per_pe_cycle": "peak MACs one PE completes per cycle at these widths",
    "total_cycles": "cycles",
    "stall_cycles": "cycles",
    "compute_util": "percent",
    "mapping_eff": "percent",
    "overall_util": "percent",
    "macs": "multiply-accumulates",
    "vector_ops": "vector-unit operations (rows of operators without MACs)",
    "vector_util": "percent of the vector unit's peak operations over the row's busy cycles",
    "ifmap_sram_reads": "words",
    "filter_sram_reads": "words",
    "ofmap_sram_writes": "words",
    "ofmap_sram_reads": "words (partial sums read back when the ofmap buffer accumulates)",
    "dram_ifmap_reads": "words",
    "dram_filter_reads": "words",
    "dram_ofmap_writes": "words",
    "dram_ofmap_reads": "words (partial sums an explicit mapping reads back)",
    "dram_ifmap_bytes": "bytes (words packed at act_bits)",
    "dram_filter_bytes": "bytes (words packed at weight_bits)",
    "dram_ofmap_bytes": "bytes (words packed at act_bits)",
    "row_folds": "folds",
    "col_folds": "folds",
    "time_s": "seconds at the accelerator clock",
    "energy_pj": "picojoules (accelerator.energy prices the counters)",
    "energy_breakdown": "picojoules per component (a dict that sums to energy_pj)",
    "edp": "picojoules x cycles (energy-delay product)",
    # Filled only with a finite memory system (None when DRAM is unlimited):
    "prefetch_cycles": "cycles of DRAM reads before the first compute cycle",
    "dram_ifmap_start": "cycle (negative: before compute starts)",
    "dram_ifmap_stop": "cycle",
    "dram_filter_start": "cycle (negative: before compute starts)",
    "dram_filter_stop": "cycle",
    "dram_ofmap_start": "cycle",
    "dram_ofmap_stop": "cycle",
    "avg_ifmap_dram_bw": "words per cycle",
    "avg_filter_dram_bw": "words per cycle",
    "avg_ofmap_dram_bw": "words per cycle",
    "peak_ifmap_dram_bw": "words per cycle",
    "peak_filter_dram_bw": "words per cycle",
    "peak_ofmap_dram_bw": "words per cycle",
}
_FIRST_AFTER_KINDS = "time_s"


def register_columns(columns: dict[str, str]) -> None:
    """Add an array kind's own columns (units as values) before ``time_s``; rows of other
    kinds leave them None."""
    new = {name: unit for name, unit in columns.items() if name not in COLUMNS}
    if not new:
        return
    names = list(COLUMNS)
    at = names.index(_FIRST_AFTER_KINDS)
    merged = {name: COLUMNS[name] for name in names[:at]} | new | {
        name: COLUMNS[name] for name in names[at:]}
    COLUMNS.clear()
    COLUMNS.update(merged)


_SUMMED = ("total_cycles", "stall_cycles", "macs", "vector_ops", "ifmap_sram_reads", "filter_sram_reads",
           "ofmap_sram_writes", "ofmap_sram_reads", "dram_ifmap_reads", "dram_filter_reads",
           "dram_ofmap_writes", "dram_ofmap_reads", "dram_ifmap_bytes", "dram_filter_bytes",
           "dram_ofmap_bytes", "time_s")


@dataclass(frozen=True)
class Report:
    """What every simulation returns: ``layers`` (one row per layer), ``totals`` and ``config``.

    Totals sum the counters; ``overall_util`` is recomputed from the summed MACs over the
    peak MACs of each layer's cycles (PEs x MACs per PE cycle at its widths),
    and ``compute_util``/``mapping_eff`` are averages weighted by each layer's cycles.
    """

    layers: pd.DataFrame
    totals: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: list[dict[str, Any]], config: dict[str, Any],
                     num_pes: int, extra_totals: dict[str, Any] | None = None) -> "Report":
        frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
        return cls(layers=frame, totals=run_totals(records, num_pes, extra_totals),
                   config=config)

    def to_dict(self) -> dict[str, Any]:
        """``{"hwloop_version", "config", "layers": [...], "totals": {...}}`` in plain types."""
        records = [{k: _plain(v) for k, v in row.items()}
                   for row in self.layers.to_dict(orient="records")]
        return {"hwloop_version": self.config.get("hwloop_version"), "config": self.config,
                "layers": records, "totals": self.totals}

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Strict JSON: cells a row's kind leaves empty (NaN in the table) are ``null``."""
        write_atomic(path, strict_json(self.to_dict()))

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """The layer table; ``energy_breakdown`` spreads into ``energy_<component>_pj`` columns."""
        write_atomic(path, _flat_breakdown(self.layers).to_csv(index=False))


def run_totals(records: list[dict[str, Any]], num_pes: int,
               extra_totals: dict[str, Any] | None = None) -> dict[str, Any]:
    """A run's totals from its layer rows (see :class:`Report`), in plain Python: the search
    oracle takes them without building the table."""
    # one pass over the rows, each sum in row order (the same floats as summing per key)
    totals: dict[str, Any] = dict.fromkeys(_SUMMED, 0)
    compute = mapping = 0
    busy: float = 0
    for r in records:
        for key in _SUMMED:
            value = r.get(key)
            if value:
                totals[key] += value if type(value) in (int, float) else _plain(value)
        cycles = r["total_cycles"]
        compute += r["compute_util"] * cycles
        mapping += r["mapping_eff"] * cycles
        busy += cycles * (r.get("macs_per_pe_cycle") or 1.0) * num_pes
    weight = float(totals["total_cycles"]) or 1.0
    totals["compute_util"] = compute / weight
    totals["mapping_eff"] = mapping / weight
    busy = float(busy) or float(num_pes)  # peak MACs over the run
    totals["overall_util"] = 100.0 * totals["macs"] / busy
    totals["layers"] = len(records)
    totals.update(extra_totals or {})
    return totals


def _flat_breakdown(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its dict column ``energy_breakdown`` spread into scalar columns."""
    cells = frame["energy_breakdown"]
    keys = next((list(cell) for cell in cells if isinstance(cell, dict)), [])
    spread = pd.DataFrame({f"energy_{key}_pj": [cell.get(key) if isinstance(cell, dict) else None
                                                for cell in cells] for key in keys},
                          index=frame.index)
    at = frame.columns.get_loc("energy_breakdown")
    return pd.concat([frame.iloc[:, :at], spread, frame.iloc[:, at + 1:]], axis=1)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
