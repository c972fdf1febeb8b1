"""kill -9 a running search, resume it: the same trials as an uninterrupted run, every point
simulated once (the oracle's store answers what the killed run finished)."""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from .conftest import TOPOLOGY  # noqa: E402

SPACE = """[params.rows]
values = [2, 4, 8, 16]
[params.cols]
values = [2, 4, 8, 16]
[params.dataflow]
values = ["os", "ws", "is"]
[params.ifmap_kb]
values = [1, 2]
"""
POINTS = 4 * 4 * 3 * 2
RUN = "import sys; from hwloop.sim.cli import main; sys.exit(main(sys.argv[1:]))"


def command(tmp: Path, out: Path) -> list[str]:
    return [sys.executable, "-c", RUN, "search", "--space", str(tmp / "space.toml"),
            "--topology", str(tmp / "two.csv"), "--objectives", "latency", "--sampler", "grid",
            "--trials", str(POINTS), "--seed", "0", "--out", str(out)]


def complete_trials(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:
        return 0


def done_points(cache: Path) -> int:
    with sqlite3.connect(cache, timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM results WHERE state = 'done'").fetchone()[0]


def trial_rows(out: Path) -> list[dict]:
    with open(out / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_kill_minus_9_then_resume(tmp_path):
    (tmp_path / "space.toml").write_text(SPACE)
    (tmp_path / "two.csv").write_text(TOPOLOGY)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(tmp_path, killed), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while complete_trials(killed / "study.db") < 10 and proc.poll() is None:
        assert time.time() < deadline, "the search never got going"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the search finished before it could be killed"
    assert not (killed / "trials.csv").exists()
    stored = done_points(killed / "cache.db")
    assert 10 <= stored < POINTS

    resumed = subprocess.run(command(tmp_path, killed), capture_output=True, text=True,
                             check=True)
    fresh = tmp_path / "fresh"
    subprocess.run(command(tmp_path, fresh), capture_output=True, check=True)

    rows, want = trial_rows(killed), trial_rows(fresh)
    assert len(rows) == len(want) == POINTS  # --trials is the study's total
    point = lambda r: (r["rows"], r["cols"], r["dataflow"], r["ifmap_kb"])  # noqa: E731
    assert len({point(r) for r in rows}) == POINTS  # the grid, each point once
    assert {(point(r), r["latency"]) for r in rows} == {(point(r), r["latency"]) for r in want}
    # the resumed run simulated only what the killed one had not stored: nothing twice
    simulated_now = int(resumed.stdout.split(" simulated now")[0].split("(")[-1].split()[-1])
    assert done_points(killed / "cache.db") == stored + simulated_now == POINTS
