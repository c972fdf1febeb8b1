#!/usr/bin/env python3
"""How fast is hwloop on ResNet-18 at 32x32, and how does that compare with SCALE-Sim v3?

Five numbers that answer different questions, so they are reported separately:
  (a) Numba compile time: the one-off cost a user pays on the very first run (empty cache),
      and the first call of a later process that loads the cached kernels;
  (b) steady-state simulation time in one process (what a design-space search pays per
      evaluation), for OS, WS and IS;
  (c) whole-process ``hwloop simulate`` wall time (what a command-line user waits for), on
      ResNet-18 and on a synthetic network of a few hundred distinct layers, whose
      per-layer amortised time separates start-up from per-layer cost;
  (d) with --scalesim / --scalesim-json: SCALE-Sim's numbers checked layer by layer against
      hwloop, and the speed ratios on the same job;
  (e) with --scalesim-sample K: SCALE-Sim on K layers of (c)'s synthetic network, checked and
      timed, and extrapolated (labelled as such) to the whole network.

Run: ``python benchmarks/bench_resnet18.py [--repeat 20] [--out results.json]``.
"""
from __future__ import annotations

import argparse
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

import _sample_compare as sample_cmp
import _scalesim_compare as peer_cmp
from _synthetic import write_topology
from _timing import child_env, hwloop_cli, run_process, time_calls, time_process

REPO = Path(__file__).resolve().parent.parent
UNIQUE_TOPOLOGY = REPO / "tests" / "data" / "topologies" / "resnet18_unique.csv"
COLDSTART = Path(__file__).resolve().parent / "_coldstart.py"
DATAFLOWS = ("os", "ws", "is")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=20, help="in-process calls per median (b)")
    p.add_argument("--cli-repeat", type=int, default=5, help="timed CLI runs on ResNet-18 (c)")
    p.add_argument("--synthetic-layers", type=int, default=300, help="distinct layers (c)")
    p.add_argument("--synthetic-repeat", type=int, default=3, help="timed CLI runs on it (c)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic network")
    p.add_argument("--out", metavar="PATH", help="write every number as JSON here")
    g = p.add_argument_group("SCALE-Sim comparison (d)")
    g.add_argument("--scalesim", action="store_true", help="run the SCALE-Sim harness (minutes)")
    g.add_argument("--scalesim-dataflows", default="os", help="comma list, e.g. os,ws,is")
    g.add_argument("--scalesim-json", metavar="FILE", action="append", default=[],
                   help="reuse a saved harness output instead of running it (repeatable)")
    g.add_argument("--scalesim-topology", type=Path, default=None,
                   help=f"topology for the harness run / saved file (default {UNIQUE_TOPOLOGY.name}"
                        " for runs, the file's recorded topology for --scalesim-json)")
    g.add_argument("--scalesim-harness", type=Path, default=peer_cmp.DEFAULT_HARNESS)
    g.add_argument("--scalesim-python", default=os.environ.get("SCALESIM_PYTHON"),
                   help="interpreter with scalesim installed (default: env SCALESIM_PYTHON)")
    g.add_argument("--scalesim-timeout", type=float, default=1500.0)
    g = p.add_argument_group("SCALE-Sim on a sample of the synthetic network (e)")
    g.add_argument("--scalesim-sample", type=int, default=0, metavar="K",
                   help="run SCALE-Sim on K MAC-stratified layers of (c)'s synthetic network "
                        "(32x32 OS) and extrapolate to all of it; 0 = off (12 takes ~3-5 min)")
    g.add_argument("--scalesim-sample-budget", type=float, default=300.0, metavar="S",
                   help="prefer sampled layers whose predicted SCALE-Sim time fits S seconds "
                        "in all (predicted at %.2f ms/cycle)" % (sample_cmp.ASSUMED_S_PER_CYCLE * 1e3))
    args = p.parse_args(argv)
    if not 0 <= args.scalesim_sample <= args.synthetic_layers:
        p.error(f"--scalesim-sample must be 0..--synthetic-layers ({args.synthetic_layers})")
    return args


# --- (a) compile time ---------------------------------------------------------------------

def _coldstart(env: dict[str, str], repeat: int) -> dict[str, Any]:
    wall, out = run_process([sys.executable, str(COLDSTART), "--repeat", str(repeat)], env=env)
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def measure_compile(cache_dir: Path, repeat: int) -> dict[str, Any]:
    """Two fresh processes sharing ``cache_dir``: the first finds it empty, the second full."""
    env = child_env(NUMBA_CACHE_DIR=str(cache_dir))
    cold = _coldstart(env, repeat)
    cached = _coldstart(env, repeat)
    size = sum(f.stat().st_size for f in cache_dir.rglob("*") if f.is_file())
    return {"network": "resnet18", "array": "32x32 os", "cold": cold, "cached": cached,
            "compile_s": cold["default"]["overhead_s"],
            "compat_compile_s": cold["compat"]["overhead_s"], "cache_bytes": size}


# --- (b) steady state ---------------------------------------------------------------------

def _forget_walks() -> None:
    """Clear the simulator's per-process memos of buffer walks, so every timed call
    simulates the point anew (the search oracle's memo is measured by bench_oracle.py)."""
    from hwloop.sim.memory import forget_walks

    forget_walks()


def measure_steady(repeat: int) -> list[dict[str, Any]]:
    """Median in-process ``simulate`` time per network and dataflow, after one warm-up call."""
    from hwloop.arch import get_preset
    from hwloop.sim import simulate
    from hwloop.traces import builtin_network, load_topology

    networks = {"resnet18": builtin_network("resnet18"),
                "resnet18_unique": load_topology(UNIQUE_TOPOLOGY)}
    base = get_preset("scalesim_default")
    rows = []
    for name, network in networks.items():
        for dataflow in DATAFLOWS:
            accel = base.with_overrides(dataflow=dataflow)
            timing = time_calls(lambda: simulate(network, accel), repeat,
                                before_each=_forget_walks)
            rows.append({"network": name, "layers": len(network), "dataflow": dataflow,
                         **timing, "evals_per_min": 60.0 / timing["median_s"]})
    return rows


# --- (c) whole process --------------------------------------------------------------------

def measure_process(workdir: Path, args: argparse.Namespace, env: dict[str, str]) -> dict:
    """``hwloop simulate`` wall time on ResNet-18 and on the synthetic many-layer network.

    The first ResNet-18 run is an untimed warm-up so every timed run finds the Numba cache
    filled; the synthetic runs reuse the same kernels, so they need none.
    """
    resnet = time_process(hwloop_cli("simulate", "--network", "resnet18", "-q"),
                          repeat=args.cli_repeat, env=env)
    topology = write_topology(workdir / "synthetic.csv", args.synthetic_layers, args.seed)
    synthetic = time_process(hwloop_cli("simulate", "--topology", str(topology), "-q"),
                             repeat=args.synthetic_repeat, warmup=0, env=env)
    return {"resnet18": {"layers": 21, **resnet},
            "synthetic": {"layers": args.synthetic_layers, "seed": args.seed, **synthetic,
                          "amortised_per_layer_s": synthetic["median_s"] / args.synthetic_layers}}


# --- (d) SCALE-Sim ------------------------------------------------------------------------

def _peer_runs(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str | None]:
    """Harness outputs to compare against, or a reason why there are none."""
    if args.scalesim_json:
        return [peer_cmp.load_saved(Path(f), args.scalesim_harness, args.scalesim_topology)
                for f in args.scalesim_json], None
    missing = peer_cmp.missing_prerequisite(args.scalesim_harness, args.scalesim_python)
    if missing:
        return [], missing
    topology = args.scalesim_topology or UNIQUE_TOPOLOGY
    runs = []
    for dataflow in [d.strip() for d in args.scalesim_dataflows.split(",") if d.strip()]:
        print(f"  running SCALE-Sim on {topology.name}, 32x32 {dataflow} (minutes) ...",
              flush=True)
        runs.append(peer_cmp.run_harness(args.scalesim_harness, args.scalesim_python,
                                         topology, 32, 32, dataflow, args.scalesim_timeout))
    return runs, None


def measure_scalesim(args: argparse.Namespace, env: dict[str, str],
                     amortised_layer_s: float) -> dict[str, Any]:
    peers, skipped = _peer_runs(args)
    if skipped:
        return {"skipped": skipped}
    results = []
    for peer in peers:
        check = peer_cmp.verify(peer)
        wall = peer_cmp.hwloop_process_time(peer, args.cli_repeat, env)
        results.append({**peer_cmp.compare(peer, wall, amortised_layer_s), "verification": check})
    return {"runs": results}


# --- output -------------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.1f} ms"


def print_compile(c: dict[str, Any]) -> None:
    cold, cached = c["cold"], c["cached"]
    print("\n(a) Numba compile time: fresh processes, ResNet-18 (21 layers), 32x32 OS")
    print(f"    import hwloop.sim, empty cache       {_ms(cold['import_s'])}")
    print(f"    first simulate, EMPTY cache          {_ms(cold['default']['first_s'])}")
    print(f"    steady simulate (same process)       {_ms(cold['default']['steady_s'])}")
    print(f"    => compile (first - steady)          {_ms(c['compile_s'])}")
    print(f"    compat mode: extra compile           {_ms(c['compat_compile_s'])}")
    print(f"    first simulate, CACHED (2nd process) {_ms(cached['default']['first_s'])}"
          f"   (cache load {cached['default']['overhead_s'] * 1e3:.1f} ms)")
    print(f"    whole child process, empty / cached  {_ms(cold['wall_s'])} / "
          f"{cached['wall_s'] * 1e3:.1f} ms   (cache {c['cache_bytes'] / 1024:.0f} KiB)")


def print_steady(rows: list[dict[str, Any]], repeat: int) -> None:
    print(f"\n(b) steady-state in-process simulate, 32x32, median of {repeat}")
    print(f"    {'network':16s} {'layers':>6s} {'df':>3s} {'median':>12s} {'min':>12s}"
          f" {'per layer':>12s} {'evals/min':>10s}")
    for r in rows:
        print(f"    {r['network']:16s} {r['layers']:6d} {r['dataflow']:>3s} {_ms(r['median_s'])}"
              f" {_ms(r['min_s'])} {_ms(r['median_s'] / r['layers'])} {r['evals_per_min']:10.0f}")


def _row(label: str, t: dict[str, float]) -> str:
    return f"    {label:42s} median {_ms(t['median_s'])}  min {_ms(t['min_s'])}  (n={t['n']})"


def _ratio(x: float) -> str:
    return f"{x:.1f}x" if x < 10 else f"{x:.0f}x"


def print_process(p: dict[str, Any]) -> None:
    r, s = p["resnet18"], p["synthetic"]
    print("\n(c) whole-process `hwloop simulate -q` (warm Numba cache), 32x32 OS")
    print(_row("--network resnet18 (21 layers)", r))
    print(_row(f"--topology synthetic ({s['layers']} layers, seed {s['seed']})", s))
    print(f"    {'=> amortised per layer':42s}        {_ms(s['amortised_per_layer_s'])}")


def print_scalesim(d: dict[str, Any]) -> None:
    print("\n(d) SCALE-Sim v3 comparison")
    if "skipped" in d:
        print(f"    SKIPPED: {d['skipped']}")
        return
    for r in d["runs"]:
        v = r["verification"]
        verdict = peer_cmp.verdict(v)
        print(f"    {Path(r['topology']).name}, {r['array']} {r['dataflow']}, {r['layers']} layers;"
              f" SCALE-Sim numbers {r['peer_source']}")
        print(f"      check (hwloop --scalesim-compat): {verdict}")
        print(f"      whole process: SCALE-Sim {r['scalesim_wall_s']:.1f} s (run_scale "
              f"{r['scalesim_run_scale_s']:.1f} s) vs hwloop {r['hwloop_process']['median_s']:.3f}"
              f" s => {_ratio(r['wall_ratio'])}")
        print(f"      per layer: SCALE-Sim {r['scalesim_per_layer_s']:.2f} s (wall / layers)"
              f" vs hwloop amortised {r['hwloop_amortised_per_layer_s'] * 1e3:.1f} ms (c)"
              f" => {_ratio(r['per_layer_ratio'])}"
              + ("" if (r["array"], r["dataflow"]) == ("32x32", "os")
                 else "  [(c) ran 32x32 OS: not the same array]"))


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    import numba

    return {"hwloop_version": metadata.version("hwloop"), "numba": numba.__version__,
            "python": platform.python_version(), "executable": sys.executable,
            "machine": platform.platform(), "cpu_count": os.cpu_count(),
            "loadavg_start": list(os.getloadavg()), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="hwloop_bench_"))
    cache = workdir / "numba_cache"
    cache.mkdir()
    # every process of the run, this one included, shares one private cache: (a) starts it
    # empty, and nothing is read from or written to the checkout's __pycache__
    os.environ["NUMBA_CACHE_DIR"] = str(cache)
    env = child_env()
    try:
        results: dict[str, Any] = {"meta": _meta(args)}
        print(f"hwloop {results['meta']['hwloop_version']} benchmark, {os.cpu_count()} CPUs, "
              "load average %.2f %.2f %.2f at start" % tuple(os.getloadavg()), flush=True)
        results["compile"] = measure_compile(cache, repeat=5)
        print_compile(results["compile"])
        results["steady"] = measure_steady(args.repeat)
        print_steady(results["steady"], args.repeat)
        results["process"] = measure_process(workdir, args, env)
        print_process(results["process"])
        if args.scalesim or args.scalesim_json:
            results["scalesim"] = measure_scalesim(
                args, env, results["process"]["synthetic"]["amortised_per_layer_s"])
            print_scalesim(results["scalesim"])
        if args.scalesim_sample:
            results["scalesim_sample"] = sample_cmp.measure(args, workdir, env, results["process"])
            sample_cmp.print_report(results["scalesim_sample"])
        results["meta"]["loadavg_end"] = list(os.getloadavg())
        print("\nload average %.2f %.2f %.2f at end" % tuple(os.getloadavg()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}")
    checks = [r["verification"] for r in results.get("scalesim", {}).get("runs", [])]
    if "measured" in results.get("scalesim_sample", {}):
        checks.append(results["scalesim_sample"]["measured"]["verification"])
    return 0 if all(c["ok"] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
