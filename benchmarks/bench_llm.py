#!/usr/bin/env python3
"""Issue 21's speed target: Llama-2-7B with a 512-token prompt and 8 generated tokens on a
128x128 array at 16 words/cycle, as a whole ``hwloop simulate`` process with a warm Numba
cache, in at most 10 s.

Runs the command once untimed (to fill the cache), then ``--repeat`` times; reports the
median and the range. Run: ``python benchmarks/bench_llm.py [--repeat 5]``; writes
``benchmarks/results/bench_llm_<date>.{json,txt}``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
COMMAND = ["simulate", "--network", "llama2-7b", "--prompt-len", "512", "--gen-len", "8",
           "--rows", "128", "--cols", "128", "--bandwidth", "16", "-q"]
TARGET_S = 10.0


def once() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hwloop.sim.cli", *COMMAND], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    once()  # the Numba cache, warm
    runs = [once() for _ in range(args.repeat)]
    date = str(datetime.date.today())
    text = (f"hwloop {' '.join(COMMAND)} ({date}), whole process, warm cache, "
            f"{platform.platform()}\n"
            f"median {statistics.median(runs):.2f} s (runs {min(runs):.2f}-{max(runs):.2f} s, "
            f"n={len(runs)}); target {TARGET_S:.0f} s\n")
    print(text, end="")
    out = RESULTS / f"bench_llm_{date}"
    out.with_suffix(".json").write_text(json.dumps({"date": date, "command": COMMAND,
                                                    "runs_s": runs, "target_s": TARGET_S},
                                                   indent=1) + "\n")
    out.with_suffix(".txt").write_text(text)
    return 0 if statistics.median(runs) <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
