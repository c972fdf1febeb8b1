#!/usr/bin/env python3
"""hwloop's per-layer mapper beside ZigZag's mapping search, on every distinct layer of ResNet-18.

One run, one process: every distinct conv/fc shape of the built-in ``resnet18`` (the 224x224
ImageNet network, 21 layers, 12 shapes) goes through

* hwloop: ``hwloop.sim.best_mapping(layer, accel, objective="latency")`` on the default
  accelerator (``scalesim_default``: 32x32 OS, 64 KiB per buffer, stall-free DRAM), timed
  in-process per layer (wall clock). Each shape is timed once, on its first call: the mapper
  memoises its search by shape, so a repeat would time the memo. Untimed warm-up calls come
  first, on one small layer per filter size and stride (``warmup_layers``), so Numba's
  compile (into a private, empty cache) is excluded from the per-layer times and reported
  apart. The buffer-walk memos are cleared before every timed call.
* ZigZag (zigzag-dse 3.9.1, ``../shared/peers/analytical/zigzag_reference.py``): LOMA,
  ``--opt latency``, one subprocess per layer under ``--zigzag-python`` (env
  ``ZIGZAG_PYTHON``), on the closest hardware its ``generic`` template allows (see
  ``zigzag_hw_args``). hwloop's mapper chooses the dataflow, tiles and loop order, so ZigZag
  by default chooses its spatial mappings too (``--zigzag-spatial auto``; ``os`` pins them to
  the accelerator's OS unrolling, about 3x less search). Recorded: the subprocess wall
  time, the harness's own ``wall_s`` (ZigZag's search and cost model only, no start-up),
  latency, energy and mapping.

The table gives per shape hwloop's milliseconds, ZigZag's seconds and the ratio ZigZag search
/ hwloop (and ZigZag whole process / hwloop in the totals). A full run writes
``benchmarks/results/mapper_<date>.json`` and ``.txt``; ``--layers N`` (first N shapes, a
quick check) writes only with ``--out``.

    ZIGZAG_PYTHON=/tmp/zigzag-venv/bin/python python benchmarks/bench_mapper.py
    python benchmarks/bench_mapper.py --no-zigzag --layers 3
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from _timing import child_env, run_process

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_HARNESS = REPO.parent / "shared" / "peers" / "analytical" / "zigzag_reference.py"
NETWORK = "resnet18"
#: The harness's generic template: global-buffer port width and DRAM cost per 64 b word
#: (pJ read, write; zigzag-dse's tpu_like.yaml), see ``GENERIC_DEFAULTS`` in the harness.
GB_PORT_BITS = 2048
DRAM_WORD_BITS = 64
DRAM_COST_PJ = (700.0, 750.0)
ROW_KEYS = ("total_cycles", "energy_pj", "dram_ifmap_reads", "dram_filter_reads",
            "dram_ofmap_writes", "dram_ofmap_reads")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=None, metavar="N",
                   help="only the first N distinct shapes (a quick check)")
    p.add_argument("--no-zigzag", action="store_true", help="time hwloop's mapper only")
    p.add_argument("--zigzag-python", default=os.environ.get("ZIGZAG_PYTHON"),
                   help="python of a venv with zigzag-dse==3.9.1 (default: env ZIGZAG_PYTHON)")
    p.add_argument("--zigzag-harness", type=Path, default=DEFAULT_HARNESS)
    p.add_argument("--zigzag-spatial", choices=("auto", "os"), default="auto",
                   help="auto: ZigZag generates its spatial mappings (up to 3) and LOMA "
                        "searches each, as hwloop's mapper picks the dataflow; os: ZigZag's "
                        "unrolling fixed to the accelerator's OS dataflow (output pixels on "
                        "rows, filters on columns), LOMA searches the temporal mapping only")
    p.add_argument("--zigzag-timeout", type=float, default=900.0, help="seconds per layer")
    p.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="write PATH.json and PATH.txt (default for a full run: "
                        "benchmarks/results/mapper_<YYYY-MM-DD>)")
    args = p.parse_args(argv)
    if args.layers is not None and args.layers < 1:
        p.error("--layers must be at least 1")
    if args.out is None and args.layers is None:
        args.out = RESULTS / f"mapper_{datetime.date.today()}"
    return args


# --- layers -------------------------------------------------------------------------------

def distinct_layers(limit: int | None) -> list[dict[str, Any]]:
    """The network's distinct layer shapes in order: the first layer of each, its names."""
    from hwloop.traces import builtin_network

    shapes: dict[Any, dict[str, Any]] = {}
    for layer in builtin_network(NETWORK).layers:
        key = dataclasses.replace(layer, name="")
        shapes.setdefault(key, {"layer": layer, "names": []})["names"].append(layer.name)
    return list(shapes.values())[:limit]


def shape_text(layer) -> str:
    """``K64 C64 56x56 3x3 s1``: filters, channels, output size, filter size, stride."""
    stride = (str(layer.stride_h) if layer.stride_h == layer.stride_w
              else f"{layer.stride_h}x{layer.stride_w}")
    return (f"K{layer.num_filters} C{layer.channels} {layer.ofmap_h}x{layer.ofmap_w} "
            f"{layer.filter_h}x{layer.filter_w} s{stride}")


# --- hwloop -------------------------------------------------------------------------------

def _mapper():
    try:
        from hwloop.sim import best_mapping
    except ImportError:
        sys.exit("hwloop.sim.best_mapping is not in this checkout (the mapper has not landed)")
    return best_mapping


def warmup_layers(shapes: list[dict[str, Any]]) -> list:
    """One small layer per filter size and stride of ``shapes``: 24x24 outputs, 64 channels,
    128 filters, so that its data overflow the 64 KiB buffers (a layer that fits on chip
    skips the buffer-walk kernels). Some kernels are compiled only for the first 1x1 stride-2
    layer, so a single warm-up layer would leave compiles in the timed calls."""
    from hwloop.traces import Layer

    kinds = dict.fromkeys((s["layer"].filter_h, s["layer"].filter_w, s["layer"].stride_h,
                           s["layer"].stride_w) for s in shapes)
    return [Layer(name=f"warmup{i}", ifmap_h=23 * sh + fh, ifmap_w=23 * sw + fw, filter_h=fh,
                  filter_w=fw, channels=64, num_filters=128, stride_h=sh, stride_w=sw)
            for i, (fh, fw, sh, sw) in enumerate(kinds)]


def time_hwloop(shapes: list[dict[str, Any]], accel) -> dict[str, Any]:
    """Untimed warm-up calls (the Numba compile), then one timed call per shape."""
    from tqdm import tqdm

    from hwloop.sim import forget_walks

    best_mapping = _mapper()
    warmup = warmup_layers(shapes)
    start = time.perf_counter()
    for layer in warmup:
        best_mapping(layer, accel, objective="latency")
    warmup_s = time.perf_counter() - start
    for shape in tqdm(shapes, desc="hwloop mapper", unit="layer", leave=False, file=sys.stderr):
        forget_walks()
        start = time.perf_counter()
        mapping, row = best_mapping(shape["layer"], accel, objective="latency")
        seconds = time.perf_counter() - start
        shape["hwloop"] = {"seconds": seconds, "mapping": mapping.describe(),
                           **{k: _plain(row[k]) for k in ROW_KEYS}}
    return {"warmup_layers": [shape_text(layer) for layer in warmup], "warmup_s": warmup_s}


def _plain(value: Any) -> Any:
    """A JSON-ready number (NumPy scalars to int/float)."""
    return value.item() if hasattr(value, "item") else value


# --- ZigZag -------------------------------------------------------------------------------

def zigzag_hw_args(accel) -> list[str]:
    """ZigZag's ``generic`` template made as close as its options allow to ``accel``.

    Array rows x cols as is; one global buffer holding I, W and O, of the three SRAMs' total
    size (ZigZag's implicit double buffering, data at most half a memory, matches hwloop's
    ``active_fraction`` 0.5); ``--systolic`` (ZigZag's drain term); operands at
    ``operand_bits``. The per-PE registers stay the template's (a 128-weight RF, two 16 b
    partial sums): ZigZag has no forwarding between PEs, and with a one- or two-word weight
    register its model stalls up to 2x on layers where a systolic array does not. hwloop's
    default DRAM is unlimited (stall-free), so ZigZag's DRAM port is as wide as the buffer's
    (2048 b) at 64 b granularity, its per-word cost scaled by 32: DRAM energy per bit stays
    the template's.
    """
    from hwloop.arch import Dataflow

    if accel.array.dataflow is not Dataflow.OS or any(accel.dram.port_bandwidths()):
        raise ValueError("the ZigZag mapping here covers an OS array with unlimited DRAM only")
    sram = accel.sram
    bits = str(accel.operand_bits)
    scale = GB_PORT_BITS // DRAM_WORD_BITS
    return ["--hw", "generic", "--rows", str(accel.array.rows), "--cols", str(accel.array.cols),
            "--gb-kib", str(sram.ifmap_kb + sram.filter_kb + sram.ofmap_kb), "--systolic",
            "--w-bits", bits, "--a-bits", bits, "--out-bits", bits,
            "--mem-bw", f"dram={GB_PORT_BITS},{DRAM_WORD_BITS}",
            "--mem-cost", f"dram={DRAM_COST_PJ[0] * scale:g},{DRAM_COST_PJ[1] * scale:g}",
            "--engine", "loma", "--opt", "latency"]


def zigzag_dims(layer) -> dict[str, int]:
    """The layer in ZigZag's terms: K and C per group, output P x Q, filter R x S (a GEMM as
    a 1x1 conv over M output pixels)."""
    from hwloop.traces import LayerKind

    if layer.kind is LayerKind.GEMM:
        m, n, k = layer.gemm_mnk
        return {"K": n, "C": k, "P": m, "Q": 1, "R": 1, "S": 1}
    if layer.dilation_h != layer.dilation_w:
        raise ValueError(f"{layer.name}: ZigZag's harness takes one dilation")
    return {"G": layer.groups, "K": layer.num_filters, "C": layer.channel_group,
            "P": layer.ofmap_h, "Q": layer.ofmap_w, "R": layer.filter_h, "S": layer.filter_w,
            "stride-h": layer.stride_h, "stride-w": layer.stride_w, "dilation": layer.dilation_h}


def os_spatial(p: int, q: int, k: int, rows: int, cols: int) -> str:
    """hwloop's OS unrolling in ZigZag's words: output pixels (OX x OY: the split with the
    fewest pixel folds, then the most PEs, then the longest OX run, as hwloop fills rows with
    pixels in row-major order) on D1 (rows), filters on D2 (columns)."""
    splits = ((a, b) for a in range(1, min(q, rows) + 1) for b in range(1, min(p, rows // a) + 1))
    a, b = min(splits, key=lambda s: (math.ceil(q / s[0]) * math.ceil(p / s[1]), -s[0] * s[1], -s[0]))
    d1 = ",".join(f"{dim}:{size}" for dim, size in (("OX", a), ("OY", b)) if size > 1)
    return f"D1={d1 or 'OX:1'};D2=K:{min(k, cols)}"


def zigzag_args(layer, accel, spatial: str) -> list[str]:
    """The harness's command-line arguments for ``layer`` on ``accel``."""
    dims = zigzag_dims(layer)
    args = [a for name, value in dims.items() for a in (f"--{name}", str(value))]
    if spatial == "auto":
        return args + zigzag_hw_args(accel) + ["--dataflow", "auto"]
    unroll = os_spatial(dims["P"], dims["Q"], dims["K"], accel.array.rows, accel.array.cols)
    return args + zigzag_hw_args(accel) + ["--spatial", unroll]


def zigzag_one(layer, accel, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """One harness run: its process wall time and what its JSON says."""
    harness_args = zigzag_args(layer, accel, args.zigzag_spatial)
    cmd = [args.zigzag_python, str(args.zigzag_harness), *harness_args]
    try:
        wall, out = run_process(cmd, env=env, timeout=args.zigzag_timeout)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"args": harness_args, "error": str(exc)[-1000:]}
    data = json.loads(out)
    return {"args": harness_args, "process_s": wall, "search_s": data["wall_s"],
            "latency_cycles": data["latency_cycles"], "energy_pJ": data["energy_pJ"],
            "latency_breakdown": data["latency_breakdown"], "utilization": data["utilization"],
            "spatial_mapping": data["spatial_mapping"],
            "temporal_mapping": data["temporal_mapping_innermost_first"],
            "mappings_evaluated": data["search"]["mappings_evaluated"],
            "macs": data["layer"]["macs"], "macs_match": data["layer"]["macs"] == layer.macs,
            "tool_version": data["tool_version"]}


def time_zigzag(shapes: list[dict[str, Any]], accel, args: argparse.Namespace,
                workdir: Path) -> None:
    """ZigZag on every shape, one at a time (its temporary folders go to ``workdir``)."""
    from tqdm import tqdm

    env = child_env(TMPDIR=str(workdir))
    for shape in tqdm(shapes, desc="ZigZag LOMA", unit="layer", file=sys.stderr):
        shape["zigzag"] = zigzag_one(shape["layer"], accel, args, env)


def zigzag_skip_reason(args: argparse.Namespace) -> str | None:
    if args.no_zigzag:
        return "--no-zigzag"
    if not args.zigzag_python:
        return "no ZigZag interpreter: set ZIGZAG_PYTHON or --zigzag-python"
    if not Path(args.zigzag_harness).is_file():
        return f"no ZigZag harness at {args.zigzag_harness}"
    return None


# --- report -------------------------------------------------------------------------------

def totals(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    hw = sum(s["hwloop"]["seconds"] for s in shapes)
    zz = [s["zigzag"] for s in shapes if "search_s" in s.get("zigzag", {})]
    out: dict[str, Any] = {"shapes": len(shapes), "layers": sum(len(s["names"]) for s in shapes),
                           "hwloop_s": hw}
    if zz:
        out.update(zigzag_layers=len(zz), zigzag_search_s=sum(z["search_s"] for z in zz),
                   zigzag_process_s=sum(z["process_s"] for z in zz))
        if len(zz) == len(shapes):
            out.update(ratio_search=out["zigzag_search_s"] / hw,
                       ratio_process=out["zigzag_process_s"] / hw)
    return out


def _ratio(numerator: float, denominator: float) -> str:
    if denominator <= 0:
        return "-"
    ratio = numerator / denominator
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def table(shapes: list[dict[str, Any]]) -> list[str]:
    lines = [f"{'layer':<12} {'shape':<24} {'n':>2} {'hwloop ms':>10} {'hwloop cycles':>14} "
             f"{'ZigZag s':>9} {'(process)':>9} {'ZigZag cycles':>14} {'ratio':>8}"]
    for s in shapes:
        h, z = s["hwloop"], s.get("zigzag", {})
        zz = (f"{z['search_s']:>9.2f} {z['process_s']:>9.2f} {z['latency_cycles']:>14,.0f} "
              f"{_ratio(z['search_s'], h['seconds']):>8}" if "search_s" in z
              else f"{'failed' if 'error' in z else '-':>9} {'':>9} {'':>14} {'':>8}")
        lines.append(f"{s['names'][0]:<12} {shape_text(s['layer']):<24} {len(s['names']):>2} "
                     f"{h['seconds'] * 1e3:>10.2f} {h['total_cycles']:>14,} {zz}")
    return lines


def report(results: dict[str, Any], shapes: list[dict[str, Any]]) -> str:
    meta, t = results["meta"], results["totals"]
    lines = [f"hwloop mapper vs ZigZag LOMA ({meta['started'][:10]}), {NETWORK}: {t['shapes']} "
             f"distinct shapes of {t['layers']} layers, {meta['cpu_count']} CPUs, load average "
             "%.2f %.2f %.2f at start" % tuple(meta["loadavg_start"]),
             f"hwloop: {results['accelerator']['name']}, objective latency; warm-up on "
             f"{len(results['hwloop']['warmup_layers'])} small layers (first calls: any "
             f"Numba compile, into an empty cache) {results['hwloop']['warmup_s']:.1f} s, "
             "not counted",
             "ZigZag: " + (results["zigzag"].get("skipped") or f"spatial "
                           f"{results['zigzag']['spatial']}, {' '.join(results['zigzag']['hw_args'])}"),
             "ratio = ZigZag search s (the harness's wall_s: no start-up) / hwloop s", ""]
    lines += table(shapes)
    lines.append(f"{'total':<12} {'':<24} {t['layers']:>2} {t['hwloop_s'] * 1e3:>10.2f}"
                 + (f" {'':>14} {t['zigzag_search_s']:>9.2f} {t['zigzag_process_s']:>9.2f} "
                    f"{'':>14} {_ratio(t['zigzag_search_s'], t['hwloop_s']):>8}"
                    if "ratio_search" in t else ""))
    if "ratio_process" in t:
        lines.append("whole ZigZag processes / hwloop: "
                     + _ratio(t["zigzag_process_s"], t["hwloop_s"]))
    lines += ["", "hwloop mappings:"] + [f"  {s['names'][0]}: {s['hwloop']['mapping']}"
                                         for s in shapes]
    spatial = [f"  {s['names'][0]}: {s['zigzag']['spatial_mapping']}" for s in shapes
               if "spatial_mapping" in s.get("zigzag", {})]
    lines += ["ZigZag spatial mappings:"] + spatial if spatial else []
    failed = [s["names"][0] for s in shapes if "error" in s.get("zigzag", {})]
    if failed:
        lines.append(f"ZigZag FAILED on {', '.join(failed)} (errors in the JSON)")
    lines.append("load average %.2f %.2f %.2f at end" % tuple(meta["loadavg_end"]))
    return "\n".join(lines)


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    import numba

    return {"hwloop_version": metadata.version("hwloop"), "numba": numba.__version__,
            "python": platform.python_version(), "executable": sys.executable,
            "machine": platform.platform(), "cpu_count": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}


def _record(shape: dict[str, Any]) -> dict[str, Any]:
    layer = shape["layer"]
    return {"names": shape["names"], "shape": shape_text(layer), "macs": layer.macs,
            "layer": {k: _plain(v) for k, v in dataclasses.asdict(layer).items()},
            "hwloop": shape["hwloop"], "zigzag": shape.get("zigzag")}


def run(args: argparse.Namespace, workdir: Path) -> tuple[dict[str, Any], str]:
    from hwloop.arch import DEFAULT_PRESET, get_preset

    accel = get_preset(DEFAULT_PRESET)
    shapes = distinct_layers(args.layers)
    results: dict[str, Any] = {"meta": _meta(args), "accelerator": accel.to_dict()}
    print(f"{len(shapes)} shapes of {NETWORK}; warm-up ...", file=sys.stderr)
    results["hwloop"] = time_hwloop(shapes, accel)
    skip = zigzag_skip_reason(args)
    results["zigzag"] = ({"skipped": skip} if skip else
                         {"python": args.zigzag_python, "harness": str(args.zigzag_harness),
                          "spatial": args.zigzag_spatial, "hw_args": zigzag_hw_args(accel)})
    if not skip:
        time_zigzag(shapes, accel, args, workdir)
    results["totals"] = totals(shapes)
    results["layers"] = [_record(s) for s in shapes]
    results["meta"]["loadavg_end"] = list(os.getloadavg())
    return results, report(results, shapes)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hwloop_bench_mapper_"))
    # a private, empty Numba cache (set before hwloop imports Numba): the warm-up is a real
    # compile, and the checkout's __pycache__ is neither read nor written
    os.environ["NUMBA_CACHE_DIR"] = str(workdir / "numba_cache")
    try:
        results, text = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".txt").write_text(text + "\n")
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out.with_suffix('.json')} and .txt")
    return 1 if any("error" in (s["zigzag"] or {}) for s in results["layers"]) else 0


if __name__ == "__main__":
    sys.exit(main())
