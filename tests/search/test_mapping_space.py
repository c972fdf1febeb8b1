"""Mapping and per-layer dataflow as search parameters: the mapper as the inner loop."""
from __future__ import annotations

import csv

import pytest

from hwloop.arch import get_preset
from hwloop.search import Oracle, apply_point, load_space, point_key, run_options, run_search
from hwloop.search._study import layer_objective
from hwloop.sim import simulate

BASE = get_preset("scalesim_default")
HARDWARE = {"rows": 8, "cols": 8, "ifmap_kb": 4, "bandwidth": 4}

SPACE = """[params.rows]
values = [4, 8]

[params.cols]
values = [4, 8]

[params.bandwidth]
values = [2, 16]

[params.mapping]
values = ["scalesim", "auto"]

[params.dataflow]
values = ["os", "auto"]

[constraints]
max_pes = 32
"""


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_an_auto_point_is_what_simulate_gives_with_the_mapper(network, tmp_path, objective):
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    oracle.layer_objective = objective
    got = oracle.evaluate({**HARDWARE, "mapping": "auto"})
    totals = simulate(network, BASE.with_overrides(**HARDWARE), mapping="auto",
                      optimize=objective).totals
    assert got == {"latency": totals["total_cycles"], "energy": totals["energy_pj"],
                   "edp": totals["edp"], "area": totals["area_mm2"]}


def test_a_scalesim_point_keeps_its_old_key_and_numbers(network, tmp_path):
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    got = oracle.evaluate({**HARDWARE, "mapping": "scalesim"})
    assert got == oracle.evaluate(HARDWARE) and oracle.simulations == 1
    accel, _ = apply_point({**HARDWARE, "mapping": "scalesim"}, BASE, network)
    assert point_key(accel, network, "1") == point_key(accel, network, "1", {})
    auto = point_key(accel, network, "1", run_options({"mapping": "auto"}, "edp"))
    assert auto != point_key(accel, network, "1")
    assert auto != point_key(accel, network, "1", run_options({"mapping": "auto"}, "latency"))


def test_per_layer_dataflow_is_reachable_and_keeps_the_accelerator(network, tmp_path):
    accel, _ = apply_point({**HARDWARE, "dataflow": "auto"}, BASE, network)
    assert accel.array.dataflow == BASE.array.dataflow
    assert run_options({"dataflow": "auto"}, "energy") == {"choose_dataflow": "energy"}
    # the mapper chooses dataflows itself, so it wins over a per-layer dataflow choice
    assert run_options({"dataflow": "auto", "mapping": "auto"}, "edp") == {
        "mapping": "auto", "optimize": "edp"}
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    oracle.layer_objective = "latency"
    got = oracle.evaluate({**HARDWARE, "dataflow": "auto"})
    totals = simulate(network, accel, choose_dataflow="latency").totals
    assert got["latency"] == totals["total_cycles"]


def test_the_inner_loop_optimises_the_studys_objective():
    assert layer_objective(["latency"]) == "latency"
    assert layer_objective(["energy"]) == "energy"
    assert layer_objective(["latency", "energy"]) == "edp"
    assert layer_objective(["accuracy"]) == "edp"


def test_a_search_records_each_points_mapping(network, tmp_path):
    space_file = tmp_path / "space.toml"
    space_file.write_text(SPACE)
    out = tmp_path / "out"
    result = run_search(load_space(space_file), network, ["edp"], "random", 12, seed=3,
                        out_dir=out)
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert len(rows) == 12 and {"mapping", "dataflow"} <= set(rows[0])
    assert {r["mapping"] for r in rows} == {"scalesim", "auto"}
    for row in rows:  # each point's objective is simulate's on that hardware and mapping
        if row["feasible"] != "true":
            continue
        point = {"rows": int(row["rows"]), "cols": int(row["cols"]),
                 "bandwidth": int(row["bandwidth"]), "mapping": row["mapping"],
                 "dataflow": row["dataflow"]}
        accel, _ = apply_point(point, BASE, network)
        totals = simulate(network, accel, **run_options(point, "edp")).totals
        assert float(row["edp"]) == pytest.approx(totals["edp"], rel=1e-12)
    assert result is not None
