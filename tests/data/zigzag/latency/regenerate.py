#!/usr/bin/env python3
"""Regenerate the ZigZag runs in ``tests/data/zigzag/latency/``: the eight example layers of
the ZigZag harness (``../shared/peers/analytical/examples/``), re-run with the command lines
its README gives, one JSON per layer (what ``hwloop validate --zigzag`` reads).

Usage (from the repository root; the venv as in the harness README)::

    python3 -m venv /tmp/zz/.venv-zigzag && /tmp/zz/.venv-zigzag/bin/pip install zigzag-dse==3.9.1 six
    ZIGZAG_PYTHON=/tmp/zz/.venv-zigzag/bin/python \
        python tests/data/zigzag/latency/regenerate.py [--only S] [--check]

``--check`` fails when a run's latency, energy or mapping differs from the shipped example
of the same name (SALSA is unseeded: its loop order may differ, its cost did not).
All eight runs take about a minute on two cores (SALSA alone about 15 s).
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys

OUT = pathlib.Path(__file__).resolve().parent
PEERS = OUT.parents[3].parent / "shared" / "peers" / "analytical"
HARNESS = PEERS / "zigzag_reference.py"
EXAMPLES = PEERS / "examples"

L1 = ["--K", "64", "--C", "64", "--P", "56", "--Q", "56", "--R", "3", "--S", "3"]
#: example name -> harness arguments (the harness README's "Commands").
RUNS: dict[str, list[str]] = {
    "r18_layer1_conv3x3_tpu_like": L1 + ["--hw", "tpu_like"],
    "r18_layer1_conv3x3_tpu_like_fixed_order": L1 + [
        "--hw", "tpu_like", "--temporal-ordering",
        '[["C",2],["FY",3],["FX",3],["OY",56],["OX",56],["K",2]]'],
    "r18_layer1_conv3x3_tpu_like_salsa": L1 + ["--hw", "tpu_like", "--engine", "salsa"],
    "r18_layer1_conv3x3_eyeriss_like_rs": L1 + ["--hw", "eyeriss_like", "--dataflow", "rs"],
    "r18_layer1_conv3x3_generic32x32_os": L1 + ["--hw", "generic", "--dataflow", "os"],
    "r18_conv1_pad3_tpu_like": ["--K", "64", "--C", "3", "--P", "112", "--Q", "112", "--R", "7",
                                "--S", "7", "--stride", "2", "--pad", "3", "--H", "224", "--W",
                                "224", "--hw", "tpu_like"],
    "r18_layer3_conv3x3_generic16x16_energy": [
        "--K", "256", "--C", "256", "--P", "14", "--Q", "14", "--R", "3", "--S", "3", "--hw",
        "generic", "--rows", "16", "--cols", "16", "--gb-kib", "256", "--gb-bw", "256",
        "--dram-bw", "128", "--opt", "energy"],
    "mbv2_dw3x3_generic32x32": ["--G", "32", "--K", "1", "--C", "1", "--P", "112", "--Q", "112",
                                "--R", "3", "--S", "3", "--pad", "1", "--H", "112", "--W", "112",
                                "--hw", "generic", "--spatial", "D1=G:32;D2=OX:32"],
}
_CHECKED = ("latency_cycles", "energy_pJ", "latency_breakdown", "spatial_mapping")


def run(python: str, name: str, args: list[str], check: bool) -> None:
    out = OUT / f"{name}.json"
    subprocess.run([python, str(HARNESS), *args, "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    if check:
        example = json.loads((EXAMPLES / f"{name}.json").read_text())
        result = json.loads(out.read_text())
        for key in _CHECKED:
            if result[key] != example[key]:
                sys.exit(f"{name}: {key} differs from examples/{name}.json")
    print(f"{name}: ok", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run only names containing this")
    parser.add_argument("--check", action="store_true", help="compare with the shipped examples")
    args = parser.parse_args()
    python = os.environ.get("ZIGZAG_PYTHON")
    if not python:
        sys.exit("set ZIGZAG_PYTHON to the python of a venv with zigzag-dse==3.9.1")
    for name, harness_args in RUNS.items():
        if args.only in name:
            run(python, name, harness_args, args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
