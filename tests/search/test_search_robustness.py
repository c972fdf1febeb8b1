"""`hwloop search` under bad options, re-runs, a killed main process and several workers: one
error line and nothing created, a finished study re-run as a no-op, workers that die with their
parent, and the same trials for the same seed whatever the number of workers."""
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

from hwloop.search import load_space, run_search
from hwloop.sim.cli import main

from .conftest import TOPOLOGY

pytest.importorskip("optuna")

RUN = "import sys; from hwloop.sim.cli import main; sys.exit(main(sys.argv[1:]))"


def _search(space_file: Path, topology: Path, out: Path, *extra: str) -> list[str]:
    return ["search", "--space", str(space_file), "--topology", str(topology), "--sampler",
            "grid", "--trials", "6", "--out", str(out), *extra]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("url", ["bogus://x", "not a url", "sqlite:////no/such/dir/study.db"])
def test_a_bad_storage_is_one_line_and_creates_nothing(space_file, topology, tmp_path, capsys,
                                                       url):
    out = tmp_path / "out"
    assert main(_search(space_file, topology, out, "--storage", url)) == 2
    err = _one_line(capsys)
    assert "field '--storage'" in err and "cannot open the study storage" in err
    assert not out.exists()


def test_a_password_in_a_storage_url_is_not_shown(space_file, topology, tmp_path, capsys):
    url = "postgresql://user:s3cret@localhost:1/db"
    assert main(_search(space_file, topology, tmp_path / "out", "--storage", url)) == 2
    err = _one_line(capsys)
    assert "field '--storage'" in err and "s3cret" not in err


def test_an_out_that_is_a_file_is_one_line(space_file, topology, tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("mine\n")
    assert main(_search(space_file, topology, out)) == 2
    err = _one_line(capsys)
    assert "field '--out'" in err and "not a directory" in err
    assert out.read_text() == "mine\n"


def test_rerunning_a_finished_study_with_workers_rewrites_the_outputs(space_file, topology,
                                                                      tmp_path, capsys):
    out = tmp_path / "out"
    assert main(_search(space_file, topology, out, "--workers", "2")) == 0
    before = (out / "trials.csv").read_text()
    (out / "trials.csv").unlink()
    (out / "pareto.csv").unlink()
    capsys.readouterr()
    assert main(_search(space_file, topology, out, "--workers", "2")) == 0
    printed = capsys.readouterr().out
    assert "6 trials" in printed and "0 simulated now" in printed
    assert (out / "trials.csv").read_text() == before and (out / "pareto.csv").exists()


def _table(out: Path) -> list[dict]:
    """trials.csv without timing columns (none today; any added later would differ by run)."""
    with open(out / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    timing = ("time", "second", "duration", "datetime")
    return [{k: v for k, v in row.items() if not any(t in k for t in timing)} for row in rows]


@pytest.mark.parametrize("sampler, trials", [("grid", 16), ("random", 24)])
def test_the_same_seed_gives_the_same_trials_with_two_workers(space_file, network, tmp_path,
                                                              sampler, trials):
    space = load_space(space_file)
    tables = []
    for name, workers in (("a", 2), ("b", 2), ("one", 1)):
        run_search(space, network, ["latency"], sampler, trials, seed=7, workers=workers,
                   out_dir=tmp_path / name)
        tables.append(_table(tmp_path / name))
    assert len(tables[0]) == trials
    assert tables[0] == tables[1] == tables[2]


SLOW_SPACE = """[params.rows]
values = [2, 4, 8, 16]
[params.cols]
values = [2, 4, 8, 16]
[params.dataflow]
values = ["os", "ws", "is"]
"""


def _children(pid: int) -> dict[int, str]:
    """Processes whose parent is ``pid``, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    """Running: neither gone nor a zombie waiting for a reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _complete_trials(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(
                "SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_die_when_the_main_process_is_killed(tmp_path):
    (tmp_path / "space.toml").write_text(SLOW_SPACE)
    (tmp_path / "two.csv").write_text(TOPOLOGY)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "search", "--space", str(tmp_path / "space.toml"),
         "--topology", str(tmp_path / "two.csv"), "--sampler", "random", "--trials", "100000",
         "--workers", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while len(workers) < 2 or _complete_trials(out / "study.db") < 4:
            assert proc.poll() is None and time.time() < deadline, "the search never got going"
            workers = [pid for pid, cmd in _children(proc.pid).items() if "spawn_main" in cmd]
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 5
        while any(_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:  # only if the test failed: do not leave them running
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
