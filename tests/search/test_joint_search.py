"""The joint-search benchmark's bookkeeping: the sequential arm's tie-break, the dominance test
and the report (no network is trained here; the benchmark itself runs the searches)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_joint_search.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_joint_search", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _net(depth, width, wbits, abits, acc, **extra):
    return {"net_depth": depth, "net_width": width, "net_kernel": 3, "weight_bits": wbits,
            "act_bits": abits, "accuracy": acc, "feasible": True, **extra}


def _design(acc, energy, **net):
    hw = {"array_kind": "bitfusion", "rows": 16, "cols": 32, "dataflow": "os"}
    return {**_net(net.get("depth", 3), net.get("width", 32), 4, 4, acc), **hw,
            "energy": energy}


def test_sequential_keeps_the_most_accurate_network_and_breaks_ties_by_cost(bench):
    rows = [_net(3, 32, 4, 8, 0.98), _net(3, 64, 4, 4, 0.98), _net(3, 32, 4, 4, 0.98),
            _net(1, 4, 2, 2, 0.70), {**_net(1, 4, 2, 2, 0.99), "feasible": False}]
    best = bench.best_network(rows)
    assert (best["net_width"], best["weight_bits"], best["act_bits"]) == (32, 4, 4)


def test_compare_reports_the_cheapest_dominating_design(bench):
    seq = _design(0.98, 100.0)
    front = [_design(0.99, 150.0), _design(0.98, 40.0), _design(0.985, 60.0),
             _design(0.975, 10.0)]
    result = bench.compare(front, seq)
    assert result["dominated"] and result["dominating_designs"] == 2
    assert result["best_dominating"]["energy"] == 40.0
    assert result["energy_ratio"] == pytest.approx(0.4)
    assert result["best_within_1pp"]["energy"] == 10.0
    assert not bench.compare([_design(0.97, 1.0), _design(0.99, 101.0)], seq)["dominated"]


def test_report_names_each_seed_and_counts_the_seeds_dominated(bench, tmp_path):
    seq = _design(0.98, 100.0)
    runs = []
    for seed, front in enumerate(([_design(0.98, 40.0)], [_design(0.97, 40.0)])):
        runs.append({"seed": seed, "joint": {"front": front, "networks_visited": 1,
                                             "seconds": 1.0},
                     "sequential": {"design": seq, "seconds": 1.0},
                     "comparison": bench.compare(front, seq)})
    summary = {"budget": 10, "joint_sampler": "tpe", "runs": runs, "dominated_in": 1}
    bench.write(summary, tmp_path / "out")
    text = (tmp_path / "out.txt").read_text()
    assert "dominated: yes" in text and "0.400x the energy" in text
    assert "dominated: no" in text
    assert "joint dominates the network-first design in 1 of 2 seeds" in text
    assert json.loads((tmp_path / "out.json").read_text())["dominated_in"] == 1
