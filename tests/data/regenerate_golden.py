#!/usr/bin/env python3
"""Regenerate the SCALE-Sim v3 golden numbers in ``tests/data/golden/``.

Each golden file is one run of the SCALE-Sim reference harness
(``../shared/peers/scalesim/reference.py``, which drives ``scalesim==3.0.0`` in
its stall-free ``CALC`` mode) on one topology from ``tests/data/topologies/``,
trimmed to the fields hwloop is checked against.

Usage (from the repository root)::

    SCALESIM_PYTHON=/path/to/venv/bin/python \
        python tests/data/regenerate_golden.py [--jobs 2] [--only SUBSTRING] [--force]

The whole matrix takes about an hour of one core; existing files are kept
unless ``--force`` is given.  SCALE-Sim needs hours for big networks on small
arrays, so ResNet-18 and AlexNet use arrays of 16 or more.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_HARNESS = REPO.parent / "shared" / "peers" / "scalesim" / "reference.py"

#: (topology, rows, cols, dataflows, (ifmap_kb, filter_kb, ofmap_kb)); cheap runs first.
DATAFLOWS = ("os", "ws", "is")
DEFAULT_KB = (64, 64, 64)
MATRIX = [
    ("tiny", 4, 4, DATAFLOWS, DEFAULT_KB),
    ("tiny", 8, 8, DATAFLOWS, DEFAULT_KB),
    ("tiny", 8, 3, DATAFLOWS, DEFAULT_KB),
    ("tiny", 64, 64, DATAFLOWS, DEFAULT_KB),
    ("tiny", 4, 4, DATAFLOWS, (1, 1, 1)),
    ("tiny", 5, 7, DATAFLOWS, (2, 1, 1)),
    ("odd", 4, 4, DATAFLOWS, DEFAULT_KB),
    ("odd", 3, 8, DATAFLOWS, (1, 2, 1)),
    ("odd", 32, 32, DATAFLOWS, DEFAULT_KB),
    ("depthwise", 8, 8, DATAFLOWS, DEFAULT_KB),
    ("depthwise", 4, 16, DATAFLOWS, (1, 1, 1)),
    ("gemm_golden", 32, 32, DATAFLOWS, DEFAULT_KB),
    ("gemms", 256, 256, DATAFLOWS, DEFAULT_KB),
    ("gemms", 128, 128, DATAFLOWS, DEFAULT_KB),
    ("gemms", 64, 16, DATAFLOWS, (16, 32, 8)),
    ("resnet18_unique", 128, 128, DATAFLOWS, DEFAULT_KB),
    ("resnet18_unique", 128, 128, ("os",), (8, 16, 4)),
    ("alexnet_conv", 256, 256, DATAFLOWS, DEFAULT_KB),
    ("alexnet_conv", 64, 64, DATAFLOWS, DEFAULT_KB),
    ("resnet18_unique", 32, 32, DATAFLOWS, DEFAULT_KB),
    ("resnet18_unique", 64, 16, DATAFLOWS, DEFAULT_KB),
    ("alexnet_conv", 32, 128, DATAFLOWS, DEFAULT_KB),
]

#: Per-layer fields kept from the harness output.
LAYER_KEYS = (
    "name", "dims", "ofmap_hw", "macs", "Sr_Sc_T", "row_fold", "col_fold",
    "total_cycles", "stall_cycles", "overall_util", "mapping_eff", "compute_util",
    "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "layer_sim_s",
)


def golden_name(topo: str, rows: int, cols: int, dataflow: str, kb: tuple[int, int, int]) -> str:
    suffix = "" if kb == DEFAULT_KB else "_kb%d-%d-%d" % kb
    return f"{topo}_{rows}x{cols}_{dataflow}{suffix}.json"


def run_one(harness: pathlib.Path, topo: str, rows: int, cols: int, dataflow: str,
            kb: tuple[int, int, int], out: pathlib.Path) -> str:
    cmd = [sys.executable, str(harness), str(HERE / "topologies" / f"{topo}.csv"),
           "--rows", str(rows), "--cols", str(cols), "--dataflow", dataflow,
           "--ifmap-kb", str(kb[0]), "--filter-kb", str(kb[1]), "--ofmap-kb", str(kb[2])]
    return run_and_keep(cmd, topo, out, LAYER_KEYS)


def run_and_keep(cmd: list[str], topo: str, out: pathlib.Path, layer_keys: tuple[str, ...]) -> str:
    """Run the harness command and write its JSON, trimmed to ``layer_keys``, to ``out``
    (atomically); returns a line for the log."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"FAILED {out.name}: {proc.stderr.strip()[-500:]}"
    res = json.loads(proc.stdout)
    cfg = res["config"]
    cfg["topology"] = f"tests/data/topologies/{topo}.csv"
    trimmed = {
        "tool": res["tool"], "scalesim_version": res["scalesim_version"], "config": cfg,
        "wall_s": res["wall_s"], "run_scale_s": res["run_scale_s"],
        "layers": [{k: layer[k] for k in layer_keys} for layer in res["layers"]],
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(trimmed, indent=1) + "\n")
    tmp.replace(out)
    return f"wrote {out.name} ({res['wall_s']:.1f} s)"


def parse_args(description: str) -> argparse.Namespace:
    """The options both regeneration scripts take."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--harness", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get("SCALESIM_REFERENCE", DEFAULT_HARNESS)))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--only", default="", help="regenerate only files whose name contains this")
    parser.add_argument("--force", action="store_true", help="overwrite existing golden files")
    return parser.parse_args()


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    outdir = HERE / "golden"
    outdir.mkdir(exist_ok=True)
    todo = []
    for topo, rows, cols, dataflows, kb in MATRIX:
        for dataflow in dataflows:
            out = outdir / golden_name(topo, rows, cols, dataflow, kb)
            if args.only in out.name and (args.force or not out.exists()):
                todo.append((topo, rows, cols, dataflow, kb, out))
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for msg in pool.map(lambda t: run_one(args.harness, *t), todo):
            print(msg, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
