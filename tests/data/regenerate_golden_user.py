#!/usr/bin/env python3
"""Regenerate the SCALE-Sim v3 fixed-bandwidth (USER mode) golden numbers in ``tests/data/golden_user/``.

Each golden file is one run of the SCALE-Sim reference harness
(``../shared/peers/scalesim/reference.py``, which drives ``scalesim==3.0.0``) in
its ``USER`` bandwidth mode on one topology from ``tests/data/topologies/``,
trimmed to the fields ``hwloop.sim.memory.simulate_scalesim_user`` is checked against.

``--bw`` becomes SCALE-Sim's ``Bandwidth`` (the ofmap drain); the ifmap/filter
read bandwidths (``IfmapSRAMBankBandwidth``/``FilterSRAMBankBandwidth``) equal it
unless a case names its own.

Usage (from the repository root)::

    SCALESIM_PYTHON=/path/to/venv/bin/python \
        python tests/data/regenerate_golden_user.py [--jobs 2] [--only SUBSTRING] [--force]

The whole matrix takes about a minute of one core; existing files are kept
unless ``--force`` is given.
"""
from __future__ import annotations

import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor

from regenerate_golden import parse_args, run_and_keep  # the shared harness step

HERE = pathlib.Path(__file__).resolve().parent

DATAFLOWS = ("os", "ws", "is")
DEFAULT_KB = (64, 64, 64)
SMALL_KB = (4, 4, 2)
#: (topology, rows, cols, dataflows, bw, (ifmap_bw, filter_bw) or None, (ifmap_kb, filter_kb,
#: ofmap_kb)); cheap runs first.
MATRIX = [
    ("tiny", 8, 8, DATAFLOWS, 4, None, DEFAULT_KB),
    ("tiny", 8, 8, DATAFLOWS, 4, None, SMALL_KB),
    ("tiny", 8, 8, DATAFLOWS, 4, (8, 2), SMALL_KB),
    ("odd", 4, 4, DATAFLOWS, 3, None, (1, 1, 1)),
    ("depthwise", 8, 8, DATAFLOWS, 4, None, (1, 1, 1)),
    ("gemm_golden", 32, 32, DATAFLOWS, 10, None, DEFAULT_KB),
    ("gemm_golden", 32, 32, DATAFLOWS, 50, None, DEFAULT_KB),
    ("gemm_golden", 32, 32, DATAFLOWS, 10, None, SMALL_KB),
]

#: Per-layer fields kept from the harness output.
LAYER_KEYS = (
    "name", "dims", "ofmap_hw", "macs", "Sr_Sc_T", "row_fold", "col_fold",
    "total_cycles", "total_cycles_incl_prefetch", "stall_cycles",
    "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
    "sram_start_stop", "dram_start_stop", "demand_rows", "layer_sim_s",
)


def golden_name(topo: str, rows: int, cols: int, dataflow: str, bw: int,
                port_bw: tuple[int, int] | None, kb: tuple[int, int, int]) -> str:
    ports = "" if port_bw is None else "_if%d-f%d" % port_bw
    suffix = "" if kb == DEFAULT_KB else "_kb%d-%d-%d" % kb
    return f"{topo}_{rows}x{cols}_{dataflow}_bw{bw}{ports}{suffix}.json"


def run_one(harness: pathlib.Path, topo: str, rows: int, cols: int, dataflow: str, bw: int,
            port_bw: tuple[int, int] | None, kb: tuple[int, int, int], out: pathlib.Path) -> str:
    cmd = [sys.executable, str(harness), str(HERE / "topologies" / f"{topo}.csv"),
           "--rows", str(rows), "--cols", str(cols), "--dataflow", dataflow,
           "--ifmap-kb", str(kb[0]), "--filter-kb", str(kb[1]), "--ofmap-kb", str(kb[2]),
           "--bw-mode", "USER", "--bw", str(bw)]
    if port_bw is not None:
        cmd += ["--ifmap-bw", str(port_bw[0]), "--filter-bw", str(port_bw[1])]
    return run_and_keep(cmd, topo, out, LAYER_KEYS)


def main() -> int:
    args = parse_args(__doc__.splitlines()[0])
    outdir = HERE / "golden_user"
    outdir.mkdir(exist_ok=True)
    todo = []
    for topo, rows, cols, dataflows, bw, port_bw, kb in MATRIX:
        for dataflow in dataflows:
            out = outdir / golden_name(topo, rows, cols, dataflow, bw, port_bw, kb)
            if args.only in out.name and (args.force or not out.exists()):
                todo.append((topo, rows, cols, dataflow, bw, port_bw, kb, out))
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for msg in pool.map(lambda t: run_one(args.harness, *t), todo):
            print(msg, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
