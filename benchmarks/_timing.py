"""Timing helpers shared by the benchmarks: repeated calls, timed subprocesses, the CLI.

Subprocesses run under ``sys.executable`` so the benchmark measures the interpreter (and
venv) it was started with, whatever ``hwloop`` is first on ``PATH``.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Sequence

#: What the ``hwloop`` console script runs; spelled out so the interpreter is sys.executable.
_CLI_SHIM = "import sys; from hwloop.sim.cli import main; sys.exit(main())"


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Median (the number we report: robust to a busy machine), min, max and count."""
    return {"median_s": statistics.median(samples), "min_s": min(samples),
            "max_s": max(samples), "n": len(samples)}


def time_calls(call: Callable[[], object], repeat: int, warmup: int = 1,
               before_each: Callable[[], object] | None = None) -> dict[str, float]:
    """Steady-state timing: ``warmup`` untimed calls, then ``repeat`` timed ones
    (``before_each`` runs untimed before every call)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        if before_each is not None:
            before_each()
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return stats(samples)


def run_process(cmd: Sequence[str], env: dict[str, str] | None = None,
                timeout: float | None = None) -> tuple[float, str]:
    """Run ``cmd`` to completion; return (wall seconds, stdout). Raises on failure."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"command failed (rc={proc.returncode}): {' '.join(cmd)}\n"
                           f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return wall, proc.stdout


def hwloop_cli(*args: str) -> list[str]:
    """The command line of ``hwloop ARGS...`` under this interpreter."""
    return [sys.executable, "-c", _CLI_SHIM, *args]


def time_process(cmd: Sequence[str], repeat: int, warmup: int = 1,
                 env: dict[str, str] | None = None) -> dict[str, float]:
    """Whole-process wall time of ``cmd``: ``warmup`` untimed runs, then ``repeat`` timed."""
    for _ in range(warmup):
        run_process(cmd, env)
    return stats([run_process(cmd, env)[0] for _ in range(repeat)])


def child_env(**overrides: str) -> dict[str, str]:
    """This process's environment with ``overrides`` (e.g. a Numba cache directory)."""
    env = dict(os.environ)
    env.update(overrides)
    return env
