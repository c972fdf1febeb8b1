"""The plug-in contract: a user's workload family and objectives, named in the space file.

Every grid point appears once; its latency is a direct ``simulate`` of the family's network on
that hardware; a per-network objective runs once per distinct network across two workers (and
a resumed study runs it for no network again); ``pareto.csv`` is the brute-force front; a
family or objective that fails marks its point failed with the message, and the study goes on.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from hwloop.arch import get_preset  # noqa: E402
from hwloop.search import load_space, run_search  # noqa: E402
from hwloop.sim import simulate  # noqa: E402
from hwloop.sim.cli import main  # noqa: E402
from hwloop.traces import InputError  # noqa: E402

TOY = Path(__file__).parent / "data" / "toy_family.py"
SPACE = """preset = "scalesim_default"
[workload]
family = "toy_family:build"
[objectives.score]
function = "toy_family:score"
direction = "maximize"
[objectives.stats]
function = "toy_family:stats"
direction = {mean = "maximize", spread = "minimize"}
[objectives.cycles_per_mac]
function = "toy_family:cycles_per_mac"
[params.hidden]
values = [8, 24, 40]
[params.depth]
low = 1
high = 2
[params.rows]
values = [8, 16]
"""


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A folder with the plug-in module and the space file, and the calls log."""
    shutil.copy(TOY, tmp_path / "toy_family.py")
    (tmp_path / "space.toml").write_text(SPACE)
    calls = tmp_path / "calls.txt"
    calls.write_text("")
    monkeypatch.setenv("TOY_CALLS", str(calls))
    return tmp_path


def _calls(toy: Path, name: str) -> list[str]:
    return [line for line in (toy / "calls.txt").read_text().splitlines()
            if line.startswith(name + " ")]


def _rows(path: Path) -> list[dict]:
    with open(path) as handle:
        return list(csv.DictReader(handle))


def _front(rows: list[dict], objectives: dict[str, str]) -> set[str]:
    """Trial numbers of the feasible rows no other dominates (brute force)."""
    def signed(row):
        return [float(row[o]) * (-1 if way == "maximize" else 1)
                for o, way in objectives.items()]

    feasible = [r for r in rows if r["feasible"] == "true"]
    front = set()
    for row in feasible:
        mine = signed(row)
        if not any(all(a <= b for a, b in zip(signed(o), mine)) and signed(o) != mine
                   for o in feasible):
            front.add(row["trial"])
    return front


def test_grid_over_a_user_family_with_two_workers(toy):
    space = load_space(toy / "space.toml")
    goals = {"latency": "minimize", "score": "maximize"}
    result = run_search(space, None, list(goals), "grid", 100, workers=2,
                        out_dir=toy / "out")
    rows = _rows(toy / "out" / "trials.csv")
    points = [(int(r["hidden"]), int(r["depth"]), int(r["rows"])) for r in rows]
    assert sorted(points) == sorted((h, d, r) for h in (8, 24, 40) for d in (1, 2)
                                    for r in (8, 16))  # every point, once
    assert len(_calls(toy, "score")) == 6  # once per distinct network, across the workers
    base = get_preset("scalesim_default")
    import toy_family  # importable: the space file's folder is on sys.path

    for row in rows:
        params = {"hidden": int(row["hidden"]), "depth": int(row["depth"])}
        direct = simulate(toy_family.build(params), base.with_overrides(rows=int(row["rows"])))
        assert float(row["latency"]) == direct.totals["total_cycles"]
        assert float(row["score"]) == toy_family.score(params)
    chosen = {r["trial"] for r in _rows(toy / "out" / "pareto.csv")}
    assert chosen == _front(rows, goals) and chosen
    assert result.maximised == frozenset({"score", "stats.mean"})


def test_objectives_per_network_and_per_point_survive_a_resume(toy):
    space = load_space(toy / "space.toml")
    names = ["edp", "stats.mean", "stats.spread", "cycles_per_mac"]
    run_search(space, None, names, "random", 6, seed=3, out_dir=toy / "out")
    first_stats, first_points = len(_calls(toy, "stats")), len(_calls(toy, "cycles_per_mac"))
    again = run_search(space, None, names, "random", 12, seed=3, out_dir=toy / "out")
    rows = _rows(toy / "out" / "trials.csv")
    assert len(rows) == 12 and len(again.trials) == 12
    networks = {(r["hidden"], r["depth"]) for r in rows}
    points = {(r["hidden"], r["depth"], r["rows"]) for r in rows}
    assert len(_calls(toy, "stats")) == len(networks) >= first_stats  # never twice
    assert len(_calls(toy, "cycles_per_mac")) == len(points) >= first_points
    for row in rows:
        assert float(row["stats.mean"]) == int(row["hidden"]) / 100.0
        assert float(row["cycles_per_mac"]) > 0


def test_a_failing_family_or_objective_fails_its_point_only(toy):
    (toy / "space.toml").write_text(SPACE.replace("values = [8, 24, 40]", "values = [8, 13]")
                                    + '[objectives.broken]\nfunction = "toy_family:broken"\n')
    space = load_space(toy / "space.toml")
    result = run_search(space, None, ["latency", "broken"], "grid", 100, out_dir=toy / "out")
    rows = _rows(toy / "out" / "trials.csv")
    assert len(rows) == len(result.trials) == 8
    for row in rows:
        if row["hidden"] == "13":
            assert "family toy_family:build raised ValueError: 13 hidden units" in row["error"]
        elif row["depth"] == "2":
            assert "objective broken returned nan, not a finite number" in row["error"]
        else:
            assert row["error"] == "" and row["feasible"] == "true"
        assert (row["feasible"] == "true") == (row["error"] == "")


def test_a_torch_module_family_is_imported_through_fx(toy):
    pytest.importorskip("torch")
    (toy / "space.toml").write_text(SPACE.replace('"toy_family:build"', '"toy_family:module"'))
    space = load_space(toy / "space.toml")
    result = run_search(space, None, ["latency"], "grid", 4, out_dir=toy / "out")
    import toy_family

    from hwloop.traces import network_from_torch

    base = get_preset("scalesim_default")
    for row in result.trials:
        params = {"hidden": row["hidden"], "depth": row["depth"]}
        network = network_from_torch(*toy_family.module(params))
        assert [layer.gemm_mnk for layer in network.layers] == [
            layer.gemm_mnk for layer in toy_family.build(params).layers]  # build's GEMMs
        want = simulate(network, base.with_overrides(rows=row["rows"]))
        assert row["latency"] == want.totals["total_cycles"]  # with the ReLUs on the vector unit


def test_a_python_callable_is_a_family(toy):
    import sys

    sys.path.insert(0, str(toy))
    import toy_family

    path = toy / "python.toml"
    path.write_text("[params.hidden]\nvalues = [8, 24]\n[params.cols]\nvalues = [8]\n")
    space = load_space(path, family=toy_family.build)
    result = run_search(space, None, ["latency"], "grid", 2, out_dir=toy / "out")
    assert sorted(r["hidden"] for r in result.trials) == [8, 24]
    assert all(r["latency"] > 0 for r in result.trials)


@pytest.mark.parametrize("edit, field, reason", [
    (('"toy_family:build"', '"toy_famly:build"'), "workload.family", "cannot import"),
    (('"toy_family:build"', '"toy_family:biuld"'), "workload.family", "has no 'biuld'"),
    (('"toy_family:build"', '"toy_family"'), "workload.family", "not a 'module:function'"),
    (('"toy_family:score"', '"toy_family:scor"'), "objectives.score.function", "has no"),
    (('direction = "maximize"', 'direction = "up"'), "objectives.score.direction",
     "minimize or maximize"),
    (("[objectives.score]", "[objectives.latency]"), "objectives.latency",
     "simulator objective"),
    (("[params.hidden]", "[params.hiden]"), None, None),  # a family takes any parameter
])
def test_a_bad_plugin_is_one_located_line_before_anything_runs(toy, capsys, edit, field,
                                                               reason):
    (toy / "space.toml").write_text(SPACE.replace(*edit))
    if field is None:
        assert "hiden" in load_space(toy / "space.toml").names
        return
    with pytest.raises(InputError) as info:
        load_space(toy / "space.toml")
    assert info.value.field == field and reason in info.value.reason
    assert info.value.line is not None
    code = main(["search", "--space", str(toy / "space.toml"), "--trials", "2", "--out",
                 str(toy / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "space.toml:" in err
    assert not (toy / "out").exists()  # nothing ran, nothing written


def test_an_unknown_objective_names_the_ones_there_are(toy, capsys):
    code = main(["search", "--space", str(toy / "space.toml"), "--objectives", "latency,scor",
                 "--trials", "2", "--out", str(toy / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "unknown objective 'scor'" in err and "stats.spread" in err


def test_a_killed_search_resumes_without_recomputing_finished_objectives(toy):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    (toy / "space.toml").write_text(SPACE + '[objectives.slow]\nfunction = '
                                            '"toy_family:slow_score"\ndirection = "maximize"\n')
    run = "import sys; from hwloop.sim.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", run, "search", "--space", str(toy / "space.toml"),
            "--objectives", "latency,slow", "--sampler", "grid", "--trials", "12", "--out",
            str(toy / "out")]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(_calls(toy, "slow_done")) < 2 and proc.poll() is None:
        assert time.time() < deadline, "the search never got going"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the search finished before it could be killed"
    finished = len(_calls(toy, "slow_done"))
    subprocess.run(argv, capture_output=True, check=True)
    rows = _rows(toy / "out" / "trials.csv")
    assert len(rows) == 12 and all(r["error"] == "" and r["slow"] for r in rows)
    # every network's value finished once; at most the one the kill interrupted ran again
    assert 6 <= len(_calls(toy, "slow_done")) <= 7 and finished >= 2
    with sqlite3.connect(toy / "out" / "cache.db") as db:
        (stored,) = db.execute("SELECT COUNT(*) FROM results WHERE key LIKE 'objective:%' "
                               "AND state = 'done'").fetchone()
    assert stored == 6


def test_objectives_given_as_python_callables(toy):
    import sys

    sys.path.insert(0, str(toy))
    import toy_family

    space = load_space(toy / "space.toml")
    result = run_search(space, None, ["latency", "py", "per_mac"], "grid", 4,
                        out_dir=toy / "out", functions={
                            "py": (toy_family.score, "maximize"),
                            "per_mac": toy_family.cycles_per_mac})
    assert "py" in result.maximised and "per_mac" not in result.maximised
    for row in result.trials:
        assert row["py"] == toy_family.score({"hidden": row["hidden"], "depth": row["depth"]})
        assert row["per_mac"] > 0
