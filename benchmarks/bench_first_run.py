#!/usr/bin/env python3
"""A fresh clone's first ``hwloop simulate`` (issue 19's compile target), against an older commit.

Each tree runs ``hwloop simulate -q`` (ResNet-18, 32x32 OS, the default job) as a whole new
process with an empty Numba cache, then once more with the cache that run left: the first is
what a user waits for after installing, the second every run after. The trees are a clean
``git worktree`` of HEAD and of ``--ref``, imported through a folder of links named like the
installed packages, so both are timed the same way in one run, their runs interleaved so that
a busy spell hits both. Also counts the kernels compiled and the cache's size.

Run: ``python benchmarks/bench_first_run.py [--ref COMMIT] [--repeat 3]``; writes
``benchmarks/results/bench_first_run_<date>.json`` and ``.txt``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("traces", "arch", "sim", "search")
#: The job a newcomer runs first (README), as a module so that it runs the linked tree.
JOB = ["-m", "hwloop.sim.cli", "simulate", "-q"]


def machine() -> dict:
    """The CPU model and the library versions the timings depend on."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), platform.processor())
    return {"cpu": model, "cpus": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__}


def linked_tree(rev: str, work: Path) -> Path:
    """A worktree of ``rev`` and a folder whose ``hwloop/<package>`` link into it; returns
    the folder to put first on ``PYTHONPATH``."""
    tree = work / f"tree-{rev}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(tree), rev],
                   check=True)
    site = work / f"site-{rev}"
    (site / "hwloop").mkdir(parents=True)
    for name in PACKAGES:
        (site / "hwloop" / name).symlink_to(tree / name, target_is_directory=True)
    return site


def _commit(rev: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", rev], capture_output=True,
                          text=True, check=True).stdout.strip()


def timed_run(site: Path, cache: Path) -> float:
    """Seconds of one whole ``hwloop simulate -q`` process on the tree at ``site``."""
    env = dict(os.environ, PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(cache))
    start = time.perf_counter()
    subprocess.run([sys.executable, *JOB], env=env, check=True, cwd=site,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def cache_stats(cache: Path) -> tuple[int, int]:
    """(compiled overloads, bytes) in a Numba cache folder."""
    files = [p for p in cache.rglob("*") if p.is_file()]
    return sum(p.suffix == ".nbc" for p in files), sum(p.stat().st_size for p in files)


def measure(revs: dict[str, str], repeat: int, work: Path) -> dict:
    sites = {label: linked_tree(rev, work) for label, rev in revs.items()}
    runs: dict[str, dict] = {label: {"rev": _commit(revs[label]), "empty_s": [], "cached_s": []}
                             for label in revs}
    for i in range(repeat):
        for label, site in sites.items():
            cache = work / f"cache-{label}-{i}"
            runs[label]["empty_s"].append(timed_run(site, cache))
            runs[label]["cached_s"].append(timed_run(site, cache))
            runs[label]["kernels"], runs[label]["cache_bytes"] = cache_stats(cache)
            print(f"  {label:>8} run {i + 1}: empty cache {runs[label]['empty_s'][-1]:6.1f} s,"
                  f" cached {runs[label]['cached_s'][-1]:5.1f} s", flush=True)
    for run in runs.values():
        run["empty_median_s"] = statistics.median(run["empty_s"])
        run["cached_median_s"] = statistics.median(run["cached_s"])
    return runs


def report(results: dict) -> str:
    mach = results["machine"]
    out = [f"First `hwloop simulate -q` (ResNet-18, 32x32 OS) as a whole process "
           f"({results['date']}), median of {results['repeat']}, runs interleaved",
           f"machine: {mach['cpu']}, {mach['cpus']} CPUs, Python {mach['python']}, NumPy "
           f"{mach['numpy']}, Numba {mach['numba']}", "",
           f"{'tree':>8} {'commit':>10} {'empty cache':>12} {'cached':>8} {'kernels':>8} "
           f"{'cache':>9}"]
    for label, run in results["runs"].items():
        out.append(f"{label:>8} {run['rev'][:10]:>10} {run['empty_median_s']:10.1f} s "
                   f"{run['cached_median_s']:6.1f} s {run['kernels']:>8} "
                   f"{run['cache_bytes'] / 1024:7.0f} KiB")
    if "ref" in results["runs"]:
        now, ref = results["runs"]["head"], results["runs"]["ref"]
        out += ["", f"empty cache, head / ref: {now['empty_median_s'] / ref['empty_median_s']:.2f}"]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=None, help="an older commit to time beside HEAD")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tree (3)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results path without suffix (default: benchmarks/results/"
                             "bench_first_run_<date>)")
    args = parser.parse_args()
    revs = {"head": "HEAD"} | ({"ref": args.ref} if args.ref else {})
    work = Path(tempfile.mkdtemp(prefix="hwloop_first_run_"))
    try:
        runs = measure(revs, args.repeat, work)
    finally:
        for label in revs:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(work / f"tree-{revs[label]}")], check=False)
        shutil.rmtree(work, ignore_errors=True)
    results = {"date": str(datetime.date.today()), "machine": machine(), "repeat": args.repeat,
               "runs": runs}
    text = report(results)
    print(text, end="")
    out = args.out or RESULTS / f"bench_first_run_{results['date']}"
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    out.with_suffix(".txt").write_text(text)
    print(f"wrote {out}.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
