"""One contract, every strategy: what ``hwloop search`` promises holds whichever sampler runs.

Each strategy runs on the tiny conftest space (48 points, 28 under ``max_pes = 64``) with one
and with two objectives, and is held to the same rules: the study reaches its total, each
trial's ``feasible`` flag matches the constraint, points breaking it are never simulated, a
resumed study adds trials up to the new total without simulating a point twice, the Pareto
front is non-dominated and feasible, and the same seed gives the same search.
"""
from __future__ import annotations

import csv

import pytest

from hwloop.search import STRATEGIES, load_space, run_search

NAMES = sorted(STRATEGIES)


def _needs(name: str) -> None:
    if name == "gp":
        pytest.importorskip("torch")
        pytest.importorskip("scipy")


def _dominates(a: dict, b: dict, objectives) -> bool:
    return (all(a[o] <= b[o] for o in objectives) and any(a[o] < b[o] for o in objectives))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("objectives", [("latency",), ("latency", "energy")],
                         ids=["one", "two"])
def test_contract(name, objectives, space_file, network, tmp_path):
    _needs(name)
    if name == "gp" and len(objectives) > 1:
        objectives = ("latency", "area")  # keep the GP fits quick
    space = load_space(space_file)
    out = tmp_path / name
    first = run_search(space, network, objectives, name, 10, seed=3, out_dir=out)
    assert len(first.trials) == 10
    for row in first.trials:
        pes_ok = row["rows"] * row["cols"] <= 64
        assert row["feasible"] == pes_ok
        assert row["simulated"] == pes_ok  # a static violation is never simulated
        if pes_ok:
            assert all(row[o] is not None and row[o] > 0 for o in objectives)
    with open(out / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 and set(space.names) | set(objectives) | {"feasible"} <= set(rows[0])
    assert (out / "pareto.csv").exists()

    front = first.pareto
    assert front and all(r["feasible"] for r in front)
    feasible = [r for r in first.trials if r["feasible"]]
    assert not any(_dominates(other, r, objectives) for r in front for other in feasible)

    resumed = run_search(space, network, objectives, name, 16, seed=3, out_dir=out)
    assert len(resumed.trials) == 16
    assert [r["trial"] for r in resumed.trials[:10]] == [r["trial"] for r in first.trials]
    simulated_points = {tuple(r[n] for n in space.names) for r in resumed.trials
                        if r["simulated"]}
    assert first.simulations + resumed.simulations == len(simulated_points)  # none twice

    again = run_search(space, network, objectives, name, 10, seed=3, out_dir=tmp_path / "again")
    assert [tuple(r[n] for n in space.names) for r in again.trials] == \
        [tuple(r[n] for n in space.names) for r in first.trials]
