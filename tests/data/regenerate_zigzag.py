#!/usr/bin/env python3
"""Regenerate the ZigZag runs and CACTI numbers in ``tests/data/zigzag/``.

Each ``<name>.json`` is one run of the ZigZag reference harness
(``../shared/peers/analytical/zigzag_reference.py``, which drives ``zigzag-dse==3.9.1``) with
the arguments listed in :data:`RUNS`. Four reproduce the harness's shipped examples (their
command lines are the README's; ``--check`` compares them with the examples); four pin
ZigZag's mapping to the loop nest hwloop's systolic engine runs (SCALE-Sim's: window
innermost, row folds, column folds outermost). ``manifest.json`` records each run's command
line, the hwloop dataflow that runs the same layer, and the port widths the harness does not
store. ``cacti_45nm.json`` holds the CACTI sweep behind the ``horowitz_45nm`` leakage and
area figures (the CACTI binary shipped inside zigzag-dse).

Usage (from the repository root; the venv as in the harness README)::

    python3 -m venv /tmp/zz && /tmp/zz/bin/pip install zigzag-dse==3.9.1 six
    ZIGZAG_PYTHON=/tmp/zz/bin/python python tests/data/regenerate_zigzag.py [--only S] [--check]
    ZIGZAG_PYTHON=/tmp/zz/bin/python python tests/data/regenerate_zigzag.py --cacti

All eight runs take about 15 s on one core; the CACTI sweep a few seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "zigzag"
PEERS = HERE.parent.parent.parent / "shared" / "peers" / "analytical"
HARNESS = PEERS / "zigzag_reference.py"
EXAMPLES = PEERS / "examples"

L1 = ["--K", "64", "--C", "64", "--P", "56", "--Q", "56", "--R", "3", "--S", "3"]
L3 = ["--K", "256", "--C", "256", "--P", "14", "--Q", "14", "--R", "3", "--S", "3",
      "--hw", "generic", "--rows", "16", "--cols", "16", "--gb-kib", "256", "--gb-bw", "256",
      "--dram-bw", "128"]
DW = ["--G", "32", "--K", "1", "--C", "1", "--P", "112", "--Q", "112", "--R", "3", "--S", "3",
      "--pad", "1", "--H", "112", "--W", "112", "--hw", "generic"]
DEFAULT_PORTS = {"sram_bits": 2048, "dram_bits": 64}  # tpu_like.yaml and the generic template


def _order(*loops: tuple[str, int]) -> str:
    return json.dumps([[dim, size] for dim, size in loops])


#: name -> harness arguments, the example reproduced (or None), hwloop dataflow, whether the
#: mapping is hwloop's own (``pinned``), and the port widths in bits.
RUNS: dict[str, dict] = {
    "r18_layer1_conv3x3_generic32x32_os": {
        "args": L1 + ["--hw", "generic", "--dataflow", "os"],
        "example": "r18_layer1_conv3x3_generic32x32_os.json", "dataflow": "os",
        "pinned": False, "ports": DEFAULT_PORTS},
    "r18_layer1_os32x32_pinned": {
        "args": L1 + ["--hw", "generic", "--spatial", "D1=OX:8,OY:4;D2=K:32",
                      "--temporal-ordering", _order(("C", 64), ("FX", 3), ("FY", 3), ("OX", 7),
                                                    ("OY", 14), ("K", 2))],
        "example": None, "dataflow": "os", "pinned": True, "ports": DEFAULT_PORTS},
    "r18_layer1_conv3x3_tpu_like": {
        "args": L1 + ["--hw", "tpu_like"],
        "example": "r18_layer1_conv3x3_tpu_like.json", "dataflow": "ws", "pinned": False,
        "ports": DEFAULT_PORTS},
    "r18_layer1_tpu_like_ws_pinned": {
        "args": L1 + ["--hw", "tpu_like", "--spatial", "D1=K:32;D2=C:32",
                      "--temporal-ordering", _order(("OX", 56), ("OY", 56), ("C", 2), ("FX", 3),
                                                    ("FY", 3), ("K", 2))],
        "example": None, "dataflow": "ws", "pinned": True, "ports": DEFAULT_PORTS},
    "r18_layer3_conv3x3_generic16x16_energy": {
        "args": L3 + ["--opt", "energy"],
        "example": "r18_layer3_conv3x3_generic16x16_energy.json", "dataflow": "ws",
        "pinned": False, "ports": {"sram_bits": 256, "dram_bits": 128}},
    "r18_layer3_ws16x16_pinned": {
        "args": L3 + ["--spatial", "D1=K:16;D2=C:16",
                      "--temporal-ordering", _order(("OX", 14), ("OY", 14), ("C", 16), ("FX", 3),
                                                    ("FY", 3), ("K", 16))],
        "example": None, "dataflow": "ws", "pinned": True,
        "ports": {"sram_bits": 256, "dram_bits": 128}},
    "mbv2_dw3x3_generic32x32": {
        "args": DW + ["--spatial", "D1=G:32;D2=OX:32"],
        "example": "mbv2_dw3x3_generic32x32.json", "dataflow": "os", "pinned": False,
        "ports": DEFAULT_PORTS},
    "mbv2_dw3x3_os32x32_pinned": {
        "args": DW + ["--spatial", "D1=OX:8,OY:4;D2=K:1",
                      "--temporal-ordering", _order(("FX", 3), ("FY", 3), ("OX", 14), ("OY", 28),
                                                    ("G", 32))],
        "example": None, "dataflow": "os", "pinned": True, "ports": DEFAULT_PORTS},
}
#: Fields of a harness result that must equal the example's (wall_s and search counts vary).
_CHECKED = ("layer", "hw", "latency_cycles", "energy_pJ", "energy_breakdown_pJ",
            "memory_word_accesses", "memory_element_moves", "spatial_mapping")


def run_harness(python: str, name: str, spec: dict, check: bool) -> None:
    out = OUT / f"{name}.json"
    subprocess.run([python, str(HARNESS), *spec["args"], "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    if check and spec["example"]:
        example = json.loads((EXAMPLES / spec["example"]).read_text())
        result = json.loads(out.read_text())
        for key in _CHECKED:
            mine = {k: v for k, v in result[key].items() if k in example[key]} \
                if key == "layer" else result[key]  # older examples lack G/pad/H/W
            if mine != example[key]:
                sys.exit(f"{name}: {key} differs from examples/{spec['example']}")
    print(f"{name}: ok", file=sys.stderr)


def write_manifest() -> None:
    runs = [{"name": name, "command": ["zigzag_reference.py", *spec["args"]],
             "reproduces_example": spec["example"], "hwloop_dataflow": spec["dataflow"],
             "pinned_to_hwloop_mapping": spec["pinned"], "ports": spec["ports"]}
            for name, spec in RUNS.items()]
    manifest = {"harness": "../shared/peers/analytical/zigzag_reference.py",
                "tool": "zigzag-dse 3.9.1", "runs": runs}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


#: CACTI 7 RAM, 45 nm, one bank, one read/write port 64 bits wide, ZigZag's other defaults.
_CACTI_SIZES_KIB = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
_CACTI_PATTERNS = {
    "read_pj": r"Total dynamic read energy per access \(nJ\): ([\d.e+-]+)",
    "write_pj": r"Total dynamic write energy per access \(nJ\): ([\d.e+-]+)",
    "leakage_mw": r"Total leakage power of a bank \(mW\): ([\d.e+-]+)",
}


def run_cacti(python: str) -> None:
    """Sweep CACTI (as zigzag-dse ships and drives it) over RAM sizes at 45 nm."""
    probe = "import os, zigzag; print(os.path.dirname(zigzag.__file__))"
    package = subprocess.run([python, "-c", probe], check=True, text=True, capture_output=True)
    cacti_dir = pathlib.Path(package.stdout.strip()) / "cacti" / "cacti_master"
    sys.path.insert(0, str(cacti_dir))
    from cacti_config_creator import CactiConfig  # noqa: E402 - from the zigzag-dse package

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp) / "cacti_master"
        shutil.copytree(cacti_dir, work)
        os.makedirs(work / "self_gen", exist_ok=True)
        for kib in _CACTI_SIZES_KIB:
            config = CactiConfig()
            values = {"mem_type": '"ram"', "cache_size": kib * 1024, "IO_bus_width": 64,
                      "ex_rd_port": 0, "ex_wr_port": 0, "rd_wr_port": 1, "bank_count": 1,
                      "technology": 0.045, "line_size": 8, "associativity": 1,
                      "single_rd_port": 0}
            config.write_config([config.config_options[k]["string"] + str(v) + "\n"
                                 for k, v in values.items()], str(work / "self_gen" / "c.cfg"))
            text = subprocess.run(["./cacti", "-infile", "./self_gen/c.cfg"], cwd=work,
                                  check=True, text=True, capture_output=True).stdout
            row = {"kib": kib}
            for key, pattern in _CACTI_PATTERNS.items():
                value = float(re.search(pattern, text).group(1))
                row[key] = value * 1000 if key.endswith("_pj") else value  # nJ -> pJ
            h, w = re.search(r"Cache height x width \(mm\): ([\d.]+) x ([\d.]+)", text).groups()
            row["area_mm2"] = float(h) * float(w)
            rows.append(row)
    data = {"tool": "CACTI 7 as shipped in zigzag-dse 3.9.1 (zigzag/cacti/cacti_master)",
            "settings": "RAM, 45 nm, itrs-hp cells and peripherals, 360 K, 1 bank, 1 read/write "
                        "port, 64-bit word and I/O bus; ZigZag's cacti_config_creator defaults",
            "per_access": "one 64-bit word", "sizes": rows}
    (OUT / "cacti_45nm.json").write_text(json.dumps(data, indent=1) + "\n")
    print("cacti_45nm: ok", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run only names containing this")
    parser.add_argument("--check", action="store_true",
                        help="fail if a run that reproduces a shipped example differs from it")
    parser.add_argument("--cacti", action="store_true", help="only the CACTI sweep")
    args = parser.parse_args()
    python = os.environ.get("ZIGZAG_PYTHON")
    if not python:
        sys.exit("set ZIGZAG_PYTHON to the python of a venv with zigzag-dse==3.9.1")
    OUT.mkdir(exist_ok=True)
    if args.cacti:
        run_cacti(python)
        return 0
    for name, spec in RUNS.items():
        if args.only in name:
            run_harness(python, name, spec, args.check)
    write_manifest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
