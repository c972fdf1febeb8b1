#!/usr/bin/env python3
"""Finite DRAM bandwidth with traces: hwloop vs SCALE-Sim v3, trace write rate, bounded memory.

1. ResNet-18 (all 21 layers, ``resnet18.csv`` of the SCALE-Sim harness) on a 32x32 OS array,
   10 words per cycle per DRAM port, traces on: hwloop (``simulate --bandwidth 10 --trace``)
   and, with ``--scalesim``, SCALE-Sim in USER mode with ``--save-trace`` (about 8 minutes and
   4 GB), both as whole processes in this run, and their ratio.
2. HDF5 trace write rate: raw bytes of the recorded datasets over the extra wall time that
   tracing adds to the same hwloop run.
3. Peak memory while tracing GEMMs of growing size: it stays flat (the demand is streamed to
   disk in chunks; no whole-layer matrix is held).

Usage: ``python benchmarks/bench_memory.py [--scalesim] [--out benchmarks/results/NAME]``
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import h5py

ROOT = pathlib.Path(__file__).resolve().parents[1]
PEERS = ROOT.parent / "shared" / "peers" / "scalesim"
TOPOLOGY = PEERS / "topologies" / "resnet18.csv"
BANDWIDTH = 10


def timed(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in MiB) of ``cmd`` as a fresh process."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(time.perf_counter() - t, "
             "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True,
                         text=True).stdout.split()
    return float(out[0]), int(out[1])


def raw_trace_bytes(path: pathlib.Path) -> int:
    total = 0

    def visit(_name, obj):
        nonlocal total
        if isinstance(obj, h5py.Dataset):
            total += obj.size * obj.dtype.itemsize
    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return total


def hwloop_cmd(topology: pathlib.Path, *extra: str) -> list[str]:
    return ["hwloop", "simulate", "--topology", str(topology), "--bandwidth", str(BANDWIDTH),
            "-q", *extra]


def run(args: argparse.Namespace) -> dict:
    result: dict = {"bandwidth": BANDWIDTH, "array": "32x32 OS", "topology": TOPOLOGY.name}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        trace = tmp / "r18.h5"
        subprocess.run(hwloop_cmd(TOPOLOGY), check=True, stdout=subprocess.DEVNULL)  # warm cache
        plain = min(timed(hwloop_cmd(TOPOLOGY))[0] for _ in range(args.repeat))
        traced = [timed(hwloop_cmd(TOPOLOGY, "--trace", str(trace))) for _ in range(args.repeat)]
        wall, rss = min(t for t, _ in traced), max(r for _, r in traced)
        raw = raw_trace_bytes(trace)
        result["hwloop"] = {"wall_s": wall, "wall_s_no_trace": plain, "peak_rss_mb": rss,
                            "trace_raw_mb": raw / 2**20, "trace_file_mb": trace.stat().st_size / 2**20,
                            "write_rate_mb_s": raw / 2**20 / max(wall - plain, 1e-9)}
        gemms = {}
        for m in (256, 1024, 2048):
            topo = tmp / f"gemm{m}.csv"
            topo.write_text(f"Layer, M, N, K,\ng, {m}, 1024, 1024,\n")
            out = tmp / f"gemm{m}.h5"
            seconds, peak = timed(hwloop_cmd(topo, "--trace", str(out)))
            gemms[f"{m}x1024x1024"] = {"wall_s": seconds, "peak_rss_mb": peak,
                                       "trace_raw_mb": raw_trace_bytes(out) / 2**20}
            out.unlink()
        result["gemm_tracing"] = gemms
        if args.scalesim:
            json_out = tmp / "scalesim.json"
            start = time.perf_counter()
            subprocess.run([sys.executable, str(PEERS / "reference.py"), str(TOPOLOGY), "--rows",
                            "32", "--cols", "32", "--dataflow", "os", "--bw-mode", "USER", "--bw",
                            str(BANDWIDTH), "--save-trace", "-o", str(json_out), "--timeout", "3600"],
                           check=True, stdout=subprocess.DEVNULL)
            ref = json.loads(json_out.read_text())
            result["scalesim"] = {"wall_s": time.perf_counter() - start,
                                  "harness_wall_s": ref["wall_s"], "peak_rss_mb": ref["peak_rss_mb"]}
            result["ratio"] = result["scalesim"]["harness_wall_s"] / wall
    return result


def report(result: dict) -> str:
    h = result["hwloop"]
    lines = [f"ResNet-18 ({result['topology']}), {result['array']}, "
             f"{result['bandwidth']} words/cycle, traces on",
             f"  hwloop    {h['wall_s']:8.2f} s whole process, peak RSS {h['peak_rss_mb']} MiB "
             f"(without traces {h['wall_s_no_trace']:.2f} s)",
             f"  trace     {h['trace_raw_mb']:.0f} MiB raw -> {h['trace_file_mb']:.1f} MiB file, "
             f"{h['write_rate_mb_s']:.0f} MB/s of raw trace per second that tracing adds"]
    if "scalesim" in result:
        s = result["scalesim"]
        lines.append(f"  SCALE-Sim {s['harness_wall_s']:8.1f} s whole process (USER mode, --save-trace), "
                     f"peak RSS {s['peak_rss_mb']:.0f} MiB")
        lines.append(f"  ratio     {result['ratio']:.0f}x (target >= 100x)")
    lines.append("Peak memory while tracing GEMMs (M x 1024 x 1024, 32x32 OS):")
    for name, g in result["gemm_tracing"].items():
        lines.append(f"  {name:16s} {g['trace_raw_mb']:7.0f} MiB raw trace, {g['wall_s']:6.2f} s, "
                     f"peak RSS {g['peak_rss_mb']} MiB")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scalesim", action="store_true", help="also run SCALE-Sim (slow)")
    parser.add_argument("--repeat", type=int, default=3, help="hwloop runs (best is kept)")
    parser.add_argument("--out", help="write NAME.txt and NAME.json")
    args = parser.parse_args()
    result = run(args)
    text = report(result)
    print(text)
    if args.out:
        pathlib.Path(f"{args.out}.txt").write_text(text + "\n")
        pathlib.Path(f"{args.out}.json").write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
