"""``--storage journal:///PATH``: Optuna's journal file, a few milliseconds a trial where
SQLite's transactions take about fifty; it resumes and is shared like any storage."""
from __future__ import annotations

from hwloop.search import load_space, run_search
from hwloop.sim.cli import main


def test_a_journal_study_resumes_to_its_total(space_file, network, tmp_path):
    space = load_space(space_file)
    url = f"journal://{tmp_path}/study.log"
    first = run_search(space, network, ["latency"], "random", 5, seed=1, storage=url,
                       out_dir=tmp_path / "out")
    again = run_search(space, network, ["latency"], "random", 9, seed=1, storage=url,
                       out_dir=tmp_path / "out")
    assert len(first.trials) == 5 and len(again.trials) == 9
    assert again.trials[:5] == first.trials and (tmp_path / "study.log").stat().st_size > 0


def test_two_workers_share_a_journal(space_file, network, tmp_path):
    result = run_search(load_space(space_file), network, ["latency"], "random", 8, seed=2,
                        workers=2, storage=f"journal://{tmp_path}/study.log",
                        out_dir=tmp_path / "out")
    assert len(result.trials) == 8


def test_a_journal_in_a_missing_folder_is_one_line(space_file, topology, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["search", "--space", str(space_file), "--topology", str(topology), "--objectives",
            "latency", "--trials", "3", "--out", str(out), "--storage",
            f"journal://{tmp_path}/no/study.log"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--storage" in err and "no folder" in err
    assert not out.exists()
