#!/usr/bin/env python3
"""Regenerate SCALE-Sim v3's own SRAM trace CSVs in ``tests/data/scalesim_traces/``.

Each case is one small layer run by the SCALE-Sim reference harness
(``../shared/peers/scalesim/reference.py --save-trace``) in its stall-free CALC mode; the
three SRAM trace CSVs of the layer and the harness JSON are kept. hwloop's recorded traces
are checked against them address for address and cycle for cycle.

Usage (from the repository root, about a minute)::

    SCALESIM_PYTHON=/path/to/venv/bin/python python tests/data/regenerate_scalesim_traces.py
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
HARNESS = HERE.parent.parent.parent / "shared" / "peers" / "scalesim" / "reference.py"
OUT = HERE / "scalesim_traces"
CONV_HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
#: name -> (topology CSV text, rows, cols, dataflow); odd shapes: partial folds and windows.
CASES = {
    "conv_os_4x4": (CONV_HEADER + "c, 7, 7, 3, 3, 3, 6, 2,\n", 4, 4, "os"),
    "conv_ws_8x4": (CONV_HEADER + "c, 8, 8, 2, 2, 4, 9, 1,\n", 8, 4, "ws"),
    "gemm_is_4x8": ("Layer, M, N, K,\ng, 20, 10, 12,\n", 4, 8, "is"),
}
FILES = ("IFMAP_SRAM_TRACE.csv", "FILTER_SRAM_TRACE.csv", "OFMAP_SRAM_TRACE.csv")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, (topology, rows, cols, dataflow) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            topo = pathlib.Path(tmp) / f"{name}.csv"
            topo.write_text(topology)
            keep = pathlib.Path(tmp) / "run"
            subprocess.run([sys.executable, str(HARNESS), str(topo), "--rows", str(rows),
                            "--cols", str(cols), "--dataflow", dataflow, "--save-trace",
                            "--keep-dir", str(keep), "-o", str(OUT / f"{name}.json")],
                           check=True, env=os.environ)
            target = OUT / name
            target.mkdir(exist_ok=True)
            (target / "topology.csv").write_text(topology)
            layer_dir = next(keep.rglob("layer0"))
            for file in FILES:
                shutil.copy(layer_dir / file, target / file)
        print(f"{name}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
