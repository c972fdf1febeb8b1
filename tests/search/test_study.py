"""Studies: totals across resumes, the grid visits each point once, TPE finds the optimum."""
from __future__ import annotations

import csv

import optuna

from hwloop.search import Oracle, load_space, run_search
from hwloop.sim.cli import main


def _points(result, space):
    return [tuple(row[n] for n in space.names) for row in result.trials]


def _exhaustive(space, network, tmp_path, objective="latency"):
    """The feasible optimum, by evaluating every point of the space."""
    oracle = Oracle(network, space.base_accelerator(), tmp_path / "truth.db")
    best = None
    for point in space.grid():
        accel = space.base_accelerator().with_overrides(**point)
        if any(v > 0 for v in space.constraints.static_violations(accel).values()):
            continue
        value = oracle.evaluate(point)[objective]
        best = value if best is None else min(best, value)
    return best


def test_trials_is_the_total_across_resumes(space_file, network, tmp_path):
    space = load_space(space_file)
    out = tmp_path / "out"
    first = run_search(space, network, ["latency"], "random", 5, seed=1, out_dir=out)
    assert len(first.trials) == 5
    second = run_search(space, network, ["latency"], "random", 12, seed=1, out_dir=out)
    assert len(second.trials) == 12 and second.trials[:5] == first.trials
    third = run_search(space, network, ["latency"], "random", 12, seed=1, out_dir=out)
    assert len(third.trials) == 12 and third.simulations == 0


def test_grid_visits_every_point_once_across_an_interruption(space_file, network, tmp_path):
    space = load_space(space_file)
    out = tmp_path / "out"
    run_search(space, network, ["latency"], "grid", 10, out_dir=out)
    # A run killed mid-trial leaves a RUNNING trial with its grid point half suggested.
    study = optuna.load_study(study_name="hwloop-search", storage=f"sqlite:///{out}/study.db",
                              sampler=optuna.samplers.GridSampler(
                                  {p.name: list(p.choices()) for p in space.params}))
    killed = study.ask()
    killed.suggest_categorical("rows", [2, 4, 8, 16])
    result = run_search(space, network, ["latency", "energy"][:1], "grid", 1000, out_dir=out)
    points = _points(result, space)
    assert len(points) == space.size == 48
    assert sorted(points) == sorted(tuple(p.values()) for p in space.grid())
    assert len(result.trials) == 48
    cached = Oracle(network, space.base_accelerator(), out / "cache.db")
    feasible = sum(r["simulated"] for r in result.trials)
    assert cached.stored() == feasible  # every simulated point simulated exactly once


def test_rejected_points_are_not_simulated(space_file, network, tmp_path):
    space = load_space(space_file)
    result = run_search(space, network, ["latency"], "grid", 48, out_dir=tmp_path / "o")
    rejected = [r for r in result.trials if r["rows"] * r["cols"] > 64]
    assert rejected and all(not r["simulated"] and not r["feasible"] and r["latency"] is None
                            for r in rejected)
    assert result.simulations == 48 - len(rejected)
    study = optuna.load_study(study_name="hwloop-search", storage=result.storage)
    for trial in study.trials:  # samplers see the violation
        assert (max(trial.constraints.values()) > 0) == (
            trial.params["rows"] * trial.params["cols"] > 64)


def test_tpe_finds_the_exhaustive_optimum(space_file, network, tmp_path):
    space = load_space(space_file)
    truth = _exhaustive(space, network, tmp_path)
    found = [run_search(space, network, ["latency"], "tpe", 16, seed=seed,
                        out_dir=tmp_path / f"tpe{seed}").best["latency"] for seed in range(3)]
    assert sum(value == truth for value in found) >= 2, (truth, found)


def test_same_seed_same_search(space_file, network, tmp_path):
    space = load_space(space_file)
    runs = [run_search(space, network, ["latency", "energy"], "nsga2", 12, seed=3,
                       out_dir=tmp_path / f"r{i}") for i in range(2)]
    assert _points(runs[0], space) == _points(runs[1], space)
    assert runs[0].pareto == runs[1].pareto


def test_workers_share_the_study_and_the_cache(space_file, network, tmp_path):
    space = load_space(space_file)
    result = run_search(space, network, ["latency"], "grid", 48, workers=2,
                        out_dir=tmp_path / "w")
    assert sorted(_points(result, space)) == sorted(tuple(p.values()) for p in space.grid())
    simulated = sum(r["simulated"] for r in result.trials)
    assert result.simulations == simulated  # summed over both processes, no repeats
    assert Oracle(network, space.base_accelerator(), tmp_path / "w" / "cache.db").stored() \
        == simulated


def test_cli_writes_trials_and_pareto(space_file, topology, tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["search", "--space", str(space_file), "--topology", str(topology),
               "--objectives", "latency,energy", "--sampler", "nsga2", "--trials", "20",
               "--seed", "7", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    with open(out / "trials.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20
    assert list(rows[0]) == ["trial", "rows", "cols", "dataflow", "latency", "energy",
                             "feasible", "simulated", "error"]
    assert {r["feasible"] for r in rows} <= {"true", "false"}
    with open(out / "pareto.csv") as handle:
        front = list(csv.DictReader(handle))
    assert front and all(r["feasible"] == "true" for r in front)
    values = [(float(r["latency"]), float(r["energy"])) for r in rows if r["feasible"] == "true"]
    for r in front:  # nothing feasible dominates a front point
        p = (float(r["latency"]), float(r["energy"]))
        assert not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in values)
    assert (out / "pareto.png").stat().st_size > 0 and (out / "history.png").exists()
    assert "20 trials" in capsys.readouterr().out
