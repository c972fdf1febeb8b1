"""SCALE-Sim side of the benchmark: run (or reload) the reference harness, check, compare.

A speed-up only means something if both tools computed the same numbers, so every SCALE-Sim
run is first checked layer by layer against hwloop in ``scalesim_compat`` mode; the timing
ratio is reported next to the verdict. hwloop's whole-process time is always measured in this
run, on the peer's topology and array; the peer's time comes from the harness run or, with
``--scalesim-json``, from a saved file (flagged as such, since that machine's load differed).
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from _timing import child_env, hwloop_cli, run_process, time_process

#: Per-layer counters that must be identical (ofmap writes need compat mode, see sim/arrays/_systolic.py).
CHECKED_FIELDS = ("total_cycles", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                  "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")
DEFAULT_HARNESS = Path(__file__).resolve().parents[2] / "shared" / "peers" / "scalesim" / "reference.py"


def missing_prerequisite(harness: Path, python: str | None) -> str | None:
    """Why the harness cannot run here, or None if it can."""
    if not harness.is_file():
        return f"SCALE-Sim harness not found at {harness} (use --scalesim-harness)"
    if not python:
        return "no SCALE-Sim interpreter: set env SCALESIM_PYTHON or pass --scalesim-python"
    if not Path(python).is_file():
        return f"SCALE-Sim interpreter {python} does not exist"
    return None


def run_harness(harness: Path, python: str, topology: Path, rows: int, cols: int,
                dataflow: str, timeout: float) -> dict[str, Any]:
    """One fresh harness run (its ``wall_s`` is the whole SCALE-Sim process)."""
    with tempfile.TemporaryDirectory(prefix="bench_scalesim_") as tmp:
        out = Path(tmp) / "peer.json"
        cmd = [sys.executable, str(harness), str(topology), "--rows", str(rows),
               "--cols", str(cols), "--dataflow", dataflow, "--timeout", str(timeout),
               "-o", str(out)]
        run_process(cmd, env=child_env(SCALESIM_PYTHON=python))
        peer = json.loads(out.read_text())
    peer["_source"] = "measured in this run"
    peer["_topology_path"] = str(topology)
    return peer


def load_saved(path: Path, harness: Path, topology_override: Path | None) -> dict[str, Any]:
    """A saved harness JSON, with its topology resolved to a file hwloop can read."""
    peer = json.loads(path.read_text())
    peer["_source"] = f"read from file {path} (NOT measured in this run)"
    peer["_topology_path"] = str(topology_override or _resolve_topology(
        peer["config"]["topology"], path.parent, harness.parent))
    return peer


def _resolve_topology(recorded: str, *bases: Path) -> Path:
    """The harness records the path it was given; saved files may have it made relative."""
    candidates = [Path(recorded)] + [base / recorded for base in bases]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"topology {recorded!r} of the saved SCALE-Sim run not found "
                            f"(tried {', '.join(map(str, candidates))}); pass --scalesim-topology")


def _accelerator(config: dict[str, Any]):
    from hwloop.arch import get_preset

    return get_preset("scalesim_default").with_overrides(
        rows=config["rows"], cols=config["cols"], dataflow=config["dataflow"],
        ifmap_kb=config["ifmap_kb"], filter_kb=config["filter_kb"], ofmap_kb=config["ofmap_kb"])


def verify(peer: dict[str, Any]) -> dict[str, Any]:
    """Compare hwloop (compat mode) with the peer's per-layer counters; list every mismatch."""
    from hwloop.sim import simulate
    from hwloop.traces import load_topology

    config = peer["config"]
    if config.get("bw_mode", "CALC") != "CALC":
        return {"ok": False, "reason": f"bw_mode {config['bw_mode']} (hwloop models CALC only)"}
    report = simulate(load_topology(peer["_topology_path"]), _accelerator(config),
                      scalesim_compat=True)
    ours = report.layers.to_dict(orient="records")
    if len(ours) != len(peer["layers"]):
        return {"ok": False, "reason": f"{len(ours)} hwloop layers vs {len(peer['layers'])} "
                                       "SCALE-Sim layers (wrong topology, or DP rows, which "
                                       "SCALE-Sim expands per channel)"}
    mismatches = [{"layer": theirs["name"], "field": field, "hwloop": int(mine[field]),
                   "scalesim": int(theirs[field])}
                  for mine, theirs in zip(ours, peer["layers"]) for field in CHECKED_FIELDS
                  if int(mine[field]) != int(theirs[field])]
    return {"ok": not mismatches, "layers": len(ours), "fields": list(CHECKED_FIELDS),
            "mismatches": mismatches}


def hwloop_process_time(peer: dict[str, Any], repeat: int, env: dict[str, str]) -> dict:
    """hwloop's whole-process time on the peer's exact job (compat mode, like the peer)."""
    c = peer["config"]
    cmd = hwloop_cli("simulate", "--topology", peer["_topology_path"], "--rows", str(c["rows"]),
                     "--cols", str(c["cols"]), "--dataflow", c["dataflow"],
                     "--ifmap-kb", str(c["ifmap_kb"]), "--filter-kb", str(c["filter_kb"]),
                     "--ofmap-kb", str(c["ofmap_kb"]), "--scalesim-compat", "-q")
    return time_process(cmd, repeat=repeat, env=env)


def compare(peer: dict[str, Any], hwloop_wall: dict, amortised_layer_s: float) -> dict[str, Any]:
    """Speed ratios: whole process on the same job, and per layer against (c)'s amortised time."""
    layers = len(peer["layers"])
    peer_layer_s = peer["wall_s"] / layers
    return {
        "peer_source": peer["_source"],
        "topology": peer["_topology_path"],
        "array": f"{peer['config']['rows']}x{peer['config']['cols']}",
        "dataflow": peer["config"]["dataflow"],
        "layers": layers,
        "scalesim_wall_s": peer["wall_s"],
        "scalesim_run_scale_s": peer["run_scale_s"],
        "scalesim_peak_rss_mb": peer.get("peak_rss_mb"),
        "hwloop_process": hwloop_wall,
        "wall_ratio": peer["wall_s"] / hwloop_wall["median_s"],
        "scalesim_per_layer_s": peer_layer_s,
        "hwloop_amortised_per_layer_s": amortised_layer_s,
        "per_layer_ratio": peer_layer_s / amortised_layer_s,
    }


def verdict(v: dict[str, Any]) -> str:
    """One line saying whether hwloop matched SCALE-Sim on a verified run."""
    if v["ok"]:
        return f"all {v['layers']} layers x {len(v['fields'])} counters equal"
    return f"MISMATCH: {v.get('reason') or v['mismatches'][:5]}"
