#!/usr/bin/env python3
"""hwloop's DRAM words under an explicit mapping against ZigZag's, for the same temporal mapping.

For each case (a layer and one hwloop mapping: tiles that divide every dimension exactly, a
DRAM-level loop order) the script

* computes hwloop's DRAM words (``hwloop.sim.tiling.mapped_layer_row``: ifmap reads, filter
  reads, ofmap writes, partial sums read back) and the same four numbers from a literal walk
  of the loop nest (``tests/naive_mapping.py``, the reuse rule step by step);
* runs ZigZag 3.9.1 once through ``../shared/peers/analytical/zigzag_reference.py`` with a
  fixed ``--spatial`` and ``--temporal-ordering`` (one mapping evaluated, no search): the
  loops inside one tile (FX, FY, C, OX, OY, K: what hwloop runs on chip) innermost, then the
  DRAM-level tile loops in hwloop's order (m: OX tiles inside OY tiles; k: C; n: K; a GEMM is
  a 1x1 conv with OY = M, K = N, C = K);
* checks in ZigZag's JSON that its memory allocator put the DRAM/buffer boundary where
  hwloop's is: per operand, ZigZag's DRAM-level loops must be hwloop's DRAM loops less the
  innermost ones the operand does not depend on (ZigZag keeps the tile through those, as the
  reuse rule does);
* compares the counts. ZigZag's DRAM counts are ``memory_element_moves["dram"]`` (data
  elements): I and W ``rd_out_to_low`` (reads), O ``wr_in_by_low`` (outputs and partial sums
  written) and O ``rd_out_to_low`` (partial sums read back). All operands are 8 bits (partial
  sums too: ``--psum-bits 8``) and ZigZag's DRAM port is 8 bits wide, so a ZigZag port word is
  one element is one hwloop word; the script checks ``memory_word_accesses`` equals the
  element counts.

Two ZigZag memory hierarchies (both 4x4 MACs, spatial ``D1=K:a;D2=C:b``, the largest of 4, 2,
1 dividing the tile):

* ``split`` (the table): hwloop's own, three on-chip buffers ``gb_i``, ``gb_w``, ``gb_o`` (one
  per operand, serving the whole array, no registers) each sized by ``--mem-size`` to exactly
  one tile of its operand (the ifmap tile with its halo), and DRAM. ZigZag's allocator then
  keeps, per operand, the longest prefix of the ordering that fits: the tile, plus the DRAM
  loops that do not change it. Its raw outputs can be saved to ``tests/data/zigzag_mapping/``
  (``--save-raw``), where ``tests/sim/test_zigzag_mapping.py`` checks them without ZigZag.
* ``shared`` (a second table): ZigZag's ``generic`` template (weight and psum registers, one
  global buffer for I, W and O) with the global buffer sized to the sum of the three tiles.
  The allocator then trades operands against each other; the table records whether it still
  put the boundary at hwloop's tiles.

Writes ``benchmarks/results/zigzag_mapping_<date>.json`` and ``.md`` (``--out``). About 1.5 s
of ZigZag per run (mostly Python start-up), runs one at a time.

    ZIGZAG_PYTHON=/tmp/zigzag-venv/bin/python python benchmarks/compare_zigzag_mapping.py --save-raw
    python benchmarks/compare_zigzag_mapping.py --from-saved        # tables from the saved runs
    ZIGZAG_PYTHON=... python benchmarks/compare_zigzag_mapping.py --only c3x3_k32 --hierarchy split
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from _timing import child_env, run_process
from bench_mapper import DEFAULT_HARNESS, shape_text, zigzag_dims

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
RAW = REPO / "tests" / "data" / "zigzag_mapping"
ARRAY = (4, 4)
#: hwloop's accelerator: buffers large enough for every tile here (DRAM words depend on the
#: mapping only; the buffers are checked, not used).
BUFFER_KB = 256
BITS = 8
OPERANDS = ("I", "W", "O")
#: ZigZag's loop dimensions each operand depends on (FX/FY stay inside every tile).
RELEVANT = {"I": {"OX", "OY", "C", "FX", "FY"}, "W": {"K", "C", "FX", "FY"},
            "O": {"K", "OX", "OY"}}
#: The four compared counts: hwloop row key -> (ZigZag operand, direction at ``dram``).
COUNTS = {
    "dram_ifmap_reads": ("I", "rd_out_to_low"),
    "dram_filter_reads": ("W", "rd_out_to_low"),
    "dram_ofmap_writes": ("O", "wr_in_by_low"),
    "dram_ofmap_reads": ("O", "rd_out_to_low"),
}
SHORT = {"dram_ifmap_reads": "ifmap reads", "dram_filter_reads": "filter reads",
         "dram_ofmap_writes": "ofmap writes", "dram_ofmap_reads": "psum reads back"}
ALL_ORDERS = ("mnk", "mkn", "nmk", "nkm", "kmn", "knm")

#: name -> layer (conv: Layer fields; gemm: M, N, K), tiles and the orders tried.
LAYERS: dict[str, dict[str, Any]] = {
    "fc_m64_n256_k512": {"gemm": (64, 256, 512), "tiles": {"tile_m": 16, "tile_n": 64,
                                                          "tile_k": 128}, "orders": ALL_ORDERS},
    "gemm_m196_n256_k1152": {"gemm": (196, 256, 1152), "tiles": {"tile_m": 49, "tile_n": 64,
                                                                "tile_k": 288},
                             "orders": ("kmn", "nkm")},
    "pw1x1_k64_c64_8x8": {"conv": dict(ifmap_h=8, ifmap_w=8, filter_h=1, filter_w=1,
                                       channels=64, num_filters=64),
                          "tiles": {"tile_p": 4, "tile_c": 16, "tile_n": 32},
                          "orders": ("nkm", "kmn")},
    "pw1x1_k128_c256_14x14": {"conv": dict(ifmap_h=14, ifmap_w=14, filter_h=1, filter_w=1,
                                           channels=256, num_filters=128),
                              "tiles": {"tile_p": 7, "tile_q": 7, "tile_c": 64, "tile_n": 32},
                              "orders": ("knm", "mnk")},
    "c3x3_k32_c16_16x16": {"conv": dict(ifmap_h=18, ifmap_w=18, filter_h=3, filter_w=3,
                                        channels=16, num_filters=32),
                           "tiles": {"tile_p": 4, "tile_q": 8, "tile_c": 8, "tile_n": 16},
                           "orders": ALL_ORDERS},
    "c3x3_k64_c64_56x56": {"conv": dict(ifmap_h=58, ifmap_w=58, filter_h=3, filter_w=3,
                                        channels=64, num_filters=64),
                           "tiles": {"tile_p": 14, "tile_q": 28, "tile_c": 16, "tile_n": 32},
                           "orders": ("nkm", "kmn", "mkn")},
    "c3x3_k128_c128_28x28": {"conv": dict(ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3,
                                          channels=128, num_filters=128),
                             "tiles": {"tile_p": 7, "tile_q": 28, "tile_c": 32, "tile_n": 64},
                             "orders": ("knm", "mnk")},
    "c3x3_k256_c256_14x14": {"conv": dict(ifmap_h=16, ifmap_w=16, filter_h=3, filter_w=3,
                                          channels=256, num_filters=256),
                             "tiles": {"tile_p": 14, "tile_q": 7, "tile_c": 64, "tile_n": 128},
                             "orders": ("kmn",)},
    # beyond the stride-1 layers: strided windows (hwloop's ifmap tile is the input
    # rectangle its windows span, skipped rows and columns included)
    "c3x3s2_k32_c16_8x8": {"conv": dict(ifmap_h=17, ifmap_w=17, filter_h=3, filter_w=3,
                                        channels=16, num_filters=32, stride_h=2, stride_w=2),
                           "tiles": {"tile_p": 4, "tile_q": 4, "tile_c": 8, "tile_n": 16},
                           "orders": ("kmn", "nmk")},
    "pw1x1s2_k64_c32_8x8": {"conv": dict(ifmap_h=15, ifmap_w=15, filter_h=1, filter_w=1,
                                         channels=32, num_filters=64, stride_h=2, stride_w=2),
                            "tiles": {"tile_p": 4, "tile_q": 4, "tile_c": 16, "tile_n": 32},
                            "orders": ("kmn",)},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--zigzag-python", default=os.environ.get("ZIGZAG_PYTHON"),
                   help="python of a venv with zigzag-dse==3.9.1 (default: env ZIGZAG_PYTHON)")
    p.add_argument("--zigzag-harness", type=Path, default=DEFAULT_HARNESS)
    p.add_argument("--hierarchy", choices=("split", "shared", "both"), default="both",
                   help="which ZigZag memory hierarchies to run (default both)")
    p.add_argument("--only", default=None, metavar="TEXT",
                   help="only the cases whose name contains TEXT")
    p.add_argument("--from-saved", action="store_true",
                   help="no ZigZag: read the split-hierarchy runs saved in "
                        "tests/data/zigzag_mapping/ (the shared table is then left out)")
    p.add_argument("--save-raw", action="store_true",
                   help="save ZigZag's split-hierarchy outputs and a manifest to "
                        "tests/data/zigzag_mapping/")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per ZigZag run")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="write PATH.json and PATH.md (default for a run of every case: "
                        "benchmarks/results/zigzag_mapping_<YYYY-MM-DD>)")
    args = p.parse_args(argv)
    if not args.from_saved and not args.zigzag_python:
        p.error("no ZigZag interpreter: set ZIGZAG_PYTHON or --zigzag-python (or --from-saved)")
    if args.from_saved:
        args.hierarchy = "split"
    if args.out is None and args.only is None:
        args.out = RESULTS / f"zigzag_mapping_{datetime.date.today()}"
    return args


# --- cases ---------------------------------------------------------------------------------

def make_layer(name: str, spec: dict[str, Any]):
    from hwloop.traces import Layer

    if "gemm" in spec:
        return Layer.gemm(name, *spec["gemm"])
    return Layer(name=name, **spec["conv"])


def cases(only: str | None) -> list[dict[str, Any]]:
    from hwloop.arch import Mapping

    out = []
    for layer_name, spec in LAYERS.items():
        layer = make_layer(layer_name, spec)
        for order in spec["orders"]:
            mapping = Mapping(dataflow="os", order=order, **spec["tiles"])
            name = f"{layer_name}__{order}"
            if only is None or only in name:
                out.append({"name": name, "layer_name": layer_name, "spec": spec,
                            "layer": layer, "mapping": mapping})
    return out


def hwloop_accelerator():
    from hwloop.arch import get_preset

    return get_preset("scalesim_default").with_overrides(
        rows=ARRAY[0], cols=ARRAY[1], ifmap_kb=BUFFER_KB, filter_kb=BUFFER_KB, ofmap_kb=BUFFER_KB)


# --- the mapping in ZigZag's terms ---------------------------------------------------------

def zigzag_shape(layer, mapping) -> tuple[dict[str, int], dict[str, int]]:
    """The layer's ZigZag dimensions (harness arguments) and the tile per ZigZag dimension."""
    from hwloop.sim.tiling import resolve_tiles

    dims = zigzag_dims(layer)
    tiles = resolve_tiles(layer, mapping)
    if "tile_m" in tiles:  # GEMM: a 1x1 conv over M output rows
        tile = {"OY": tiles["tile_m"], "OX": 1, "C": tiles["tile_k"], "K": tiles["tile_n"]}
    else:
        tile = {"OY": tiles["tile_p"], "OX": tiles["tile_q"], "C": tiles["tile_c"],
                "K": tiles["tile_n"]}
    full = {"OY": dims["P"], "OX": dims["Q"], "C": dims["C"], "K": dims["K"]}
    for dim, size in tile.items():
        if full[dim] % size:
            raise ValueError(f"{layer.name}: tile {size} does not divide {dim} = {full[dim]}")
    return dims, tile


def spatial_unrolling(tile: dict[str, int]) -> dict[str, int]:
    """K on D1, C on D2: the largest of 4, 2, 1 that divides the tile."""
    def pick(n: int) -> int:
        return next(u for u in (4, 2, 1) if n % u == 0)
    return {"K": pick(tile["K"]), "C": pick(tile["C"])}


def dram_loops(layer, mapping) -> list[tuple[str, int]]:
    """hwloop's DRAM-level loops in ZigZag's words, innermost first, trip-1 loops dropped
    (m: OX tiles inside OY tiles)."""
    dims, tile = zigzag_shape(layer, mapping)
    full = {"OY": dims["P"], "OX": dims["Q"], "C": dims["C"], "K": dims["K"]}
    trips = {d: full[d] // tile[d] for d in full}
    per_loop = {"m": [("OX", trips["OX"]), ("OY", trips["OY"])], "k": [("C", trips["C"])],
                "n": [("K", trips["K"])]}
    return [(d, t) for loop in reversed(mapping.order) for d, t in per_loop[loop] if t > 1]


def temporal_ordering(layer, mapping) -> list[tuple[str, int]]:
    """The complete ZigZag ordering, innermost first: one tile's loops (less the spatial
    unrolling), then the DRAM-level loops."""
    dims, tile = zigzag_shape(layer, mapping)
    unroll = spatial_unrolling(tile)
    inner = [("FX", dims["S"]), ("FY", dims["R"]), ("C", tile["C"] // unroll["C"]),
             ("OX", tile["OX"]), ("OY", tile["OY"]), ("K", tile["K"] // unroll["K"])]
    return [(d, s) for d, s in inner if s > 1] + dram_loops(layer, mapping)


def expected_dram_loops(layer, mapping) -> dict[str, list[tuple[str, int]]]:
    """Per operand, the DRAM-level loops ZigZag should keep: hwloop's, less the innermost
    ones the operand does not depend on (its tile stays on chip through them)."""
    loops = dram_loops(layer, mapping)
    out = {}
    for op in OPERANDS:
        first = next((i for i, (d, _) in enumerate(loops) if d in RELEVANT[op]), len(loops))
        out[op] = loops[first:]
    return out


def tile_elements(layer, mapping) -> dict[str, int]:
    """One tile of each operand in elements (the ifmap tile with its halo)."""
    dims, tile = zigzag_shape(layer, mapping)
    sh, sw = dims.get("stride-h", 1), dims.get("stride-w", 1)
    dil = dims.get("dilation", 1)
    rows = (tile["OY"] - 1) * sh + dil * (dims["R"] - 1) + 1
    cols = (tile["OX"] - 1) * sw + dil * (dims["S"] - 1) + 1
    return {"I": rows * cols * tile["C"], "W": dims["R"] * dims["S"] * tile["C"] * tile["K"],
            "O": tile["OY"] * tile["OX"] * tile["K"]}


SPLIT_YAML = "hwloop_three_buffers.yaml"


def split_hardware() -> dict[str, Any]:
    """hwloop's memory hierarchy for ZigZag: one buffer per operand (sized per run by
    ``--mem-size``) serving the whole array, and DRAM; 8-bit DRAM port words."""
    def port(name, kind, alloc, bits=2048):
        return {"name": name, "type": kind, "bandwidth_min": BITS, "bandwidth_max": bits,
                "allocation": alloc}

    def buffer(op, alloc_r, alloc_w):
        return {"size": 1024, "r_cost": 1.0, "w_cost": 1.0, "area": 0, "latency": 1,
                "operands": [op], "ports": [port("r_port_1", "read", alloc_r),
                                            port("w_port_1", "write", alloc_w)],
                "served_dimensions": ["D1", "D2"]}

    dram_alloc = ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"]
    return {
        "name": "hwloop_three_buffers",
        "memories": {
            "gb_i": buffer("I1", ["I1, tl"], ["I1, fh"]),
            "gb_w": buffer("I2", ["I2, tl"], ["I2, fh"]),
            "gb_o": buffer("O", ["O, tl", "O, th"], ["O, fh", "O, fl"]),
            "dram": {"size": 10_000_000_000, "r_cost": 100.0, "w_cost": 100.0, "area": 0,
                     "latency": 1, "operands": ["I1", "I2", "O"],
                     "ports": [port("rw_port_1", "read_write", dram_alloc, bits=BITS)],
                     "served_dimensions": ["D1", "D2"]},
        },
        "operational_array": {"unit_energy": 0.04, "unit_area": 1, "dimensions": ["D1", "D2"],
                              "sizes": list(ARRAY)},
    }


def harness_args(layer, mapping, hierarchy: str, hw_file: str) -> list[str]:
    dims, tile = zigzag_shape(layer, mapping)
    unroll = spatial_unrolling(tile)
    args = [a for name, value in dims.items() for a in (f"--{name}", str(value))]
    args += ["--w-bits", str(BITS), "--a-bits", str(BITS), "--psum-bits", str(BITS),
             "--out-bits", str(BITS)]
    bits = {op: n * BITS for op, n in tile_elements(layer, mapping).items()}
    if hierarchy == "split":
        args += ["--hw", hw_file, "--mem-size", f"gb_i={bits['I']}",
                 "--mem-size", f"gb_w={bits['W']}", "--mem-size", f"gb_o={bits['O']}"]
    else:
        args += ["--hw", "generic", "--rows", str(ARRAY[0]), "--cols", str(ARRAY[1]),
                 "--mem-size", f"gb={sum(bits.values())}", "--mem-bw", f"dram={BITS},{BITS}"]
    order = temporal_ordering(layer, mapping)
    args += ["--spatial", f"D1=K:{unroll['K']};D2=C:{unroll['C']}",
             "--temporal-ordering", json.dumps([[d, s] for d, s in order])]
    return args


# --- one case ------------------------------------------------------------------------------

def hwloop_words(layer, mapping) -> dict[str, int]:
    from hwloop.sim.tiling import mapped_layer_row

    row = mapped_layer_row(layer, hwloop_accelerator(), mapping)
    return {key: int(row[key]) for key in COUNTS}


def walk_words(layer, mapping) -> dict[str, int]:
    """The reuse rule by hand: the literal loop-nest walk of ``tests/naive_mapping.py``."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from naive_mapping import naive_tile_steps
    finally:
        sys.path.pop(0)
    tiles = {k: v for k, v in mapping.to_dict().items() if k.startswith("tile_")}
    steps = naive_tile_steps(layer, tiles, mapping.order)
    words = {key: sum(s[key] for s in steps) * layer.groups for key in COUNTS}
    words["dram_ofmap_writes"] += steps[-1]["dram_ofmap_writes_at_end"] * layer.groups
    return words


def parse_loop(text: str) -> tuple[str, int]:
    dim, size = text.strip("()").split(",")
    return dim.strip(), int(size)


def read_zigzag(data: dict[str, Any], layer, mapping) -> dict[str, Any]:
    """What a ZigZag run says about DRAM, and whether its allocation is hwloop's."""
    dram = data["memory_element_moves"]["dram"]
    words = data["memory_word_accesses"]["dram"]
    counts = {key: int(dram[op][d]) for key, (op, d) in COUNTS.items()}
    port_words = {key: int(words[op][d]) for key, (op, d) in COUNTS.items()}
    tm = data["temporal_mapping_innermost_first"]
    got = {op: [parse_loop(lp) for lp in tm[op][-1]] for op in OPERANDS}
    want = expected_dram_loops(layer, mapping)
    return {"dram_elements": counts, "dram_port_words": port_words,
            "port_words_equal_elements": port_words == counts,
            "allocation": tm, "dram_loops": {op: [list(x) for x in v] for op, v in got.items()},
            "expected_dram_loops": {op: [list(x) for x in v] for op, v in want.items()},
            "allocation_matches": all(got[op] == want[op] for op in OPERANDS),
            "macs": data["layer"]["macs"], "macs_match": data["layer"]["macs"] == layer.macs}


def compare(hw: dict[str, int], zz: dict[str, int]) -> dict[str, bool]:
    return {key: hw[key] == zz[key] for key in COUNTS}


def run_zigzag(case, hierarchy: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    layer, mapping = case["layer"], case["mapping"]
    hargs = harness_args(layer, mapping, hierarchy, str(workdir / SPLIT_YAML))
    cmd = [args.zigzag_python, str(args.zigzag_harness), *hargs]
    wall, out = run_process(cmd, env=child_env(TMPDIR=str(workdir)), timeout=args.timeout)
    data = json.loads(out)
    record = {"args": hargs, "process_s": wall, "zigzag_s": data["wall_s"],
              "tool_version": data["tool_version"], **read_zigzag(data, layer, mapping)}
    return record, data


def display_args(hargs: list[str]) -> list[str]:
    """The harness arguments with the split YAML named relative to the results (the script
    writes it to a temporary folder)."""
    return [SPLIT_YAML if a.endswith(SPLIT_YAML) else a for a in hargs]


# --- report --------------------------------------------------------------------------------

def loops_text(loops) -> str:
    return " ".join(f"{d}{s}" for d, s in loops) or "-"


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    rows = results["cases"]
    split = [r for r in rows if "split" in r["zigzag"]]
    shared = [r for r in rows if "shared" in r["zigzag"]]
    s = results["summary"]
    out = [f"# DRAM words under one temporal mapping: hwloop vs ZigZag {meta['zigzag_version']} "
           f"({meta['date']})", "",
           "Generated by `benchmarks/compare_zigzag_mapping.py` (its `--help` and docstring "
           "describe the run). Each case is a layer and one hwloop mapping (`os`, tiles, DRAM "
           "loop order outermost first); ZigZag is given the same temporal mapping as a fixed "
           "`--temporal-ordering`: one tile's loops innermost, then hwloop's DRAM-level loops "
           "(m = OX tiles inside OY tiles, k = C, n = K; a GEMM is a 1x1 conv with OY = M). "
           "Counts are words = elements (all operands and partial sums 8 bits, ZigZag's DRAM "
           "port 8 bits, so its port words equal its element moves: checked).", "",
           f"Command: `{meta['command']}` ({meta['wall_s']:.0f} s on {meta['cpu_count']} CPUs, "
           f"ZigZag run one layer at a time: {meta['zigzag_runs']} runs, "
           f"{meta['zigzag_process_s']:.1f} s of ZigZag processes, "
           f"{meta['zigzag_model_s']:.2f} s inside ZigZag's MainStage).", ""]
    if split:
        out += [f"## Split buffers (hwloop's hierarchy): {s['split']['agree']} of "
                f"{s['split']['cases']} cases agree on all four counts", "",
                "ZigZag hardware: `gb_i`, `gb_w`, `gb_o` (one per operand, each exactly one "
                "tile: `--mem-size`), DRAM; 4x4 MACs, spatial `D1=K;D2=C`. \"ZigZag DRAM "
                "loops\" are the loops its allocator left at the DRAM level per operand "
                "(innermost first); \"alloc\" says they are hwloop's DRAM loops less the "
                "innermost ones the operand does not depend on. Each cell: hwloop / ZigZag "
                "(the literal loop-nest walk of the reuse rule equals hwloop in every case: "
                f"{s['walk_equals_hwloop']}).", "",
                "| case | layer | hwloop mapping | DRAM loops, innermost first | ZigZag DRAM "
                "loops I / W / O | alloc | ifmap reads | filter reads | ofmap writes | "
                "psum reads back | agree |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in split:
            z = r["zigzag"]["split"]
            cells = [f"{r['hwloop'][k]:,} / {z['dram_elements'][k]:,}" for k in COUNTS]
            zl = " / ".join(loops_text(z["dram_loops"][op]) for op in OPERANDS)
            out.append(f"| {r['name']} | {r['shape']} | `{r['mapping']}` | "
                       f"{loops_text(r['dram_loops'])} | {zl} | "
                       f"{'yes' if z['allocation_matches'] else 'NO'} | " + " | ".join(cells)
                       + f" | {'yes' if z['agree_all'] else 'NO: ' + z['differs']} |")
        out.append("")
    if shared:
        out += [f"## One shared global buffer (ZigZag's `generic` template): "
                f"{s['shared']['allocation_matches']} of {s['shared']['cases']} allocations "
                f"are hwloop's, {s['shared']['agree']} cases agree on all four counts", "",
                "Global buffer `--mem-size gb=` the sum of the three tiles (bits), per-PE weight "
                "(1024 b) and psum (32 b) registers, DRAM port 8 b. ZigZag's allocator picks, "
                "per operand, how many loops the shared buffer keeps by minimising its own "
                "estimate of accesses to the level above under the shared capacity, so it may "
                "keep a smaller tile of one operand and a larger one of another. Where it does, "
                "the mapping is no longer hwloop's and the counts are not comparable.", "",
                "| case | ZigZag DRAM loops I / W / O | alloc | ifmap reads | filter reads | "
                "ofmap writes | psum reads back | agree |", "|---|---|---|---|---|---|---|---|"]
        for r in shared:
            z = r["zigzag"]["shared"]
            cells = [f"{r['hwloop'][k]:,} / {z['dram_elements'][k]:,}" for k in COUNTS]
            zl = " / ".join(loops_text(z["dram_loops"][op]) for op in OPERANDS)
            out.append(f"| {r['name']} | {zl} | {'yes' if z['allocation_matches'] else 'NO'} | "
                       + " | ".join(cells)
                       + f" | {'yes' if z['agree_all'] else 'no: ' + z['differs']} |")
        out.append("")
    out += ["## How ZigZag counts DRAM accesses (zigzag-dse 3.9.1, `mapping/mapping.py`, "
            "`mapping/temporal_mapping.py`, `opt/loma/memory_allocator.py`)", "",
            "* Allocation: bottom-up per memory, ZigZag keeps for each operand a prefix of the "
            "ordering (innermost first) whose data fit the memory (`calc_size_slices`), "
            "choosing among prefixes by its access estimate (ties go to the longer prefix). "
            "With one buffer per operand sized to one tile this is the longest prefix that "
            "fits: the tile's loops, plus the DRAM loops right above it that do not change the "
            "operand's data (e.g. K loops for the ifmap).",
            "* Stationarity: `innermost_stationary_loop_merge_down` moves the loops at the "
            "bottom of a level that the operand does not depend on into the level below. So the "
            "DRAM level of an operand holds hwloop's DRAM loops from its innermost dependent "
            "loop outwards: the loops the reuse rule refetches the tile for.",
            "* Reads of I and W from DRAM (`rd_out_to_low`) = MACs / (product of the loops "
            "below DRAM the operand does not depend on) = one buffer tile x the product of its "
            "DRAM-level loops. For the ifmap the tile's OX/FX (OY/FY) extent comes from the "
            "layer's relation `ix = stride*ox + fx` (`decouple_pr_loop`): "
            "`(tile_q - 1)*stride + S` columns, the same halo rectangle as hwloop's, and "
            "neighbouring tiles fetch their shared halo twice in both.",
            "* Outputs: `wr_in_by_low` at DRAM = one output tile x the product of the output's "
            "DRAM loops (every time a tile leaves, partial or final); `rd_out_to_low` at DRAM = "
            "output size x (product of the DRAM loops the output does not depend on - 1): "
            "partial sums come back every time but the first. Element counts; the port-word "
            "counts (`memory_word_accesses`) are ceil(elements x bits / port width) per "
            "transfer period, equal to the elements here with 8-bit data on an 8-bit port.",
            "* That is hwloop's reuse rule term by term (`docs/mappings.md`): a tile is "
            "fetched once per iteration of the loops outside its innermost dependent loop; the "
            "ofmap is written once per visit and read back on every visit but the first.", ""]
    out += ["## Differences", ""] + (results["differences"] or ["None."]) + [""]
    out += ["A strided 1x1 convolution (`pw1x1s2`) is the one split-buffer case that differs, "
            "and by design: hwloop's ifmap tile is the input rectangle its windows span, "
            "fetched whole (one DMA rectangle per tile, the skipped rows and columns too); "
            "ZigZag fetches only the words the windows read, and its allocator also keeps the "
            "OX loop below DRAM for the ifmap. Every other case agrees on all four counts.", ""]
    return "\n".join(out)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"walk_equals_hwloop": all(r["walk_equals_hwloop"] for r in rows)}
    for h in ("split", "shared"):
        runs = [r["zigzag"][h] for r in rows if h in r["zigzag"]]
        if runs:
            summary[h] = {"cases": len(runs), "agree": sum(z["agree_all"] for z in runs),
                          "disagree": sum(not z["agree_all"] for z in runs),
                          "allocation_matches": sum(z["allocation_matches"] for z in runs),
                          "agree_where_allocation_matches": sum(
                              z["agree_all"] for z in runs if z["allocation_matches"]),
                          "per_count_agree": {k: sum(z["agree"][k] for z in runs)
                                              for k in COUNTS}}
    return summary


def differences(rows: list[dict[str, Any]]) -> list[str]:
    """One line per case and hierarchy whose counts differ, with the loops that explain it."""
    lines = []
    for r in rows:
        for h, z in r["zigzag"].items():
            if z["agree_all"]:
                continue
            detail = "; ".join(
                f"{SHORT[k]} hwloop {r['hwloop'][k]:,} vs ZigZag {z['dram_elements'][k]:,}"
                for k in COUNTS if not z["agree"][k])
            alloc = ("ZigZag's allocation is hwloop's" if z["allocation_matches"] else
                     "ZigZag's DRAM loops (I / W / O) "
                     + " / ".join(loops_text(z["dram_loops"][op]) for op in OPERANDS)
                     + ", hwloop's would be "
                     + " / ".join(loops_text(z["expected_dram_loops"][op]) for op in OPERANDS))
            lines.append(f"* **{r['name']}** ({h}): {detail}. {alloc}.")
        for h, why in r.get("zigzag_refused", {}).items():
            lines.append(f"* **{r['name']}** ({h}): ZigZag refused to evaluate the mapping "
                         f"(its allocator found the shared buffer too small: `{why}`); "
                         "nothing to compare.")
    return lines


def one_case(case, args, workdir: Path, saved: dict[str, Any]) -> dict[str, Any]:
    layer, mapping = case["layer"], case["mapping"]
    hw = hwloop_words(layer, mapping)
    walk = walk_words(layer, mapping)
    row = {"name": case["name"], "layer_name": case["layer_name"], "shape": shape_text(layer),
           "kind": layer.kind.value, "macs": layer.macs, "mapping": mapping.describe(),
           "mapping_fields": mapping.to_dict(), "dram_loops": dram_loops(layer, mapping),
           "temporal_ordering": temporal_ordering(layer, mapping),
           "tile_elements": tile_elements(layer, mapping), "hwloop": hw, "reuse_walk": walk,
           "walk_equals_hwloop": walk == hw, "zigzag": {}}
    hierarchies = ("split", "shared") if args.hierarchy == "both" else (args.hierarchy,)
    for h in hierarchies:
        if args.from_saved:
            data = json.loads((RAW / f"{case['name']}.json").read_text())
            z = {"args": saved[case["name"]]["zigzag_args"], "process_s": None,
                 "zigzag_s": data["wall_s"], "tool_version": data["tool_version"],
                 **read_zigzag(data, layer, mapping)}
        else:
            try:
                z, data = run_zigzag(case, h, args, workdir)
            except RuntimeError as exc:
                if h == "split":
                    raise
                # The shared buffer is one global budget: ZigZag's allocator can refuse it.
                row["zigzag_refused"] = {h: str(exc).strip().splitlines()[-1][-160:]}
                print(f"{case['name']:<36} {h:<6} ZigZag refused the mapping", file=sys.stderr)
                continue
            z["args"] = display_args(z["args"])
            if h == "split" and args.save_raw:
                RAW.mkdir(parents=True, exist_ok=True)
                (RAW / f"{case['name']}.json").write_text(json.dumps(data, indent=1) + "\n")
        z["agree"] = compare(hw, z["dram_elements"])
        z["agree_all"] = all(z["agree"].values())
        z["differs"] = ", ".join(SHORT[k] for k, ok in z["agree"].items() if not ok)
        row["zigzag"][h] = z
        print(f"{case['name']:<36} {h:<6} alloc {'ok' if z['allocation_matches'] else 'DIFF'} "
              f"{'agree' if z['agree_all'] else 'DIFFER: ' + z['differs']}", file=sys.stderr)
    return row


def manifest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the test needs to rebuild each hwloop case beside its saved ZigZag run."""
    return {
        "about": ("ZigZag 3.9.1 runs (zigzag_reference.py) of hwloop mappings given as fixed "
                  "temporal orderings, split buffers; made by "
                  "benchmarks/compare_zigzag_mapping.py --save-raw. The split hierarchy's "
                  f"YAML is in the results JSON ({SPLIT_YAML})."),
        "accelerator": {"preset": "scalesim_default", "rows": ARRAY[0], "cols": ARRAY[1],
                        "buffer_kb": BUFFER_KB},
        "cases": {r["name"]: {"file": f"{r['name']}.json", "layer": LAYERS[r["layer_name"]].get(
            "conv") or {"gemm": list(LAYERS[r["layer_name"]]["gemm"])},
            "mapping": r["mapping_fields"], "zigzag_args": r["zigzag"]["split"]["args"],
            "agree": r["zigzag"]["split"]["agree_all"]} for r in rows if "split" in r["zigzag"]},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    todo = cases(args.only)
    if not todo:
        sys.exit(f"no case matches {args.only!r}")
    saved = {}
    if args.from_saved:
        saved = json.loads((RAW / "manifest.json").read_text())["cases"]
    workdir = Path(tempfile.mkdtemp(prefix="hwloop_zz_mapping_"))
    try:
        with open(workdir / SPLIT_YAML, "w", encoding="utf-8") as f:
            json.dump(split_hardware(), f, indent=1)  # JSON is YAML: ZigZag reads it
        rows = [one_case(c, args, workdir, saved) for c in todo]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    runs = [z for r in rows for z in r["zigzag"].values()]
    results = {
        "meta": {"date": str(datetime.date.today()), "command": " ".join(
                     ["python", "benchmarks/compare_zigzag_mapping.py", *(argv or sys.argv[1:])]),
                 "hwloop_version": metadata.version("hwloop"),
                 "zigzag_version": runs[0]["tool_version"] if runs else None,
                 "zigzag_python": args.zigzag_python, "harness": str(args.zigzag_harness),
                 "python": platform.python_version(), "cpu_count": os.cpu_count(),
                 "loadavg_end": list(os.getloadavg()), "wall_s": time.perf_counter() - start,
                 "zigzag_runs": len(runs),
                 "zigzag_process_s": sum(z["process_s"] or 0.0 for z in runs),
                 "zigzag_model_s": sum(z["zigzag_s"] for z in runs), "from_saved": args.from_saved},
        "hardware": {"array": list(ARRAY), "bits": BITS, "split_yaml": split_hardware(),
                     "hwloop_accelerator": {"preset": "scalesim_default", "buffer_kb": BUFFER_KB}},
        "cases": rows,
    }
    results["summary"] = summarise(rows)
    results["differences"] = differences(rows)
    text = markdown(results)
    print(text)
    if args.save_raw and not args.from_saved and args.hierarchy in ("split", "both"):
        (RAW / "manifest.json").write_text(json.dumps(manifest(rows), indent=1) + "\n")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
        args.out.with_suffix(".md").write_text(text + "\n")
        print(f"wrote {args.out.with_suffix('.json')} and .md", file=sys.stderr)
    ok = all(r["walk_equals_hwloop"] for r in rows) and all(
        z["agree_all"] for z in runs if z["allocation_matches"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
