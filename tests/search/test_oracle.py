"""The oracle: simulator numbers, each point simulated once, answers kept on disk."""
from __future__ import annotations

import json
import sqlite3

from hwloop.arch import get_preset
from hwloop.search import Oracle, point_key
from hwloop.sim import hwloop_version, simulate
from hwloop.traces import InputError

BASE = get_preset("scalesim_default")
POINT = {"rows": 8, "cols": 4, "dataflow": "ws"}


def test_objectives_are_the_simulators(network, tmp_path):
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    got = oracle.evaluate(POINT)
    totals = simulate(network, BASE.with_overrides(**POINT)).totals
    assert got == {"latency": totals["total_cycles"], "energy": totals["energy_pj"],
                   "edp": totals["edp"], "area": totals["area_mm2"]}


def test_a_repeat_is_answered_from_the_cache(network, tmp_path):
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    first = oracle.evaluate(POINT)
    assert oracle.evaluate(dict(reversed(list(POINT.items())))) == first
    assert oracle.simulations == 1
    oracle.evaluate({**POINT, "dataflow": "os"})
    assert oracle.simulations == 2 and oracle.stored() == 2
    oracle.close()
    again = Oracle(network, BASE, tmp_path / "cache.db")  # a new process, the same store
    assert again.evaluate(POINT) == first and again.simulations == 0


def test_key_covers_hardware_workload_and_version(network):
    a = BASE.with_overrides(**POINT)
    key = point_key(a, network, "1")
    assert key == point_key(a, network, "1") and len(key) == 64
    assert key != point_key(a, network, "2")
    assert key != point_key(BASE.with_overrides(rows=8, cols=4, dataflow="os"), network, "1")
    from dataclasses import replace

    from hwloop.traces import Network

    wider = Network(name="two", layers=(replace(network.layers[0], num_filters=9),
                                        network.layers[1]))
    assert key != point_key(a, wider, "1")
    assert hwloop_version()


def test_an_invalid_point_is_remembered(network, tmp_path):
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    bad = {"rows": 256, "cols": 256, "ifmap_kb": 1}
    for _ in range(2):
        try:
            oracle.evaluate(bad)
        except InputError:
            pass
    assert oracle.simulations <= 1


def test_a_dead_processes_claim_is_taken_over(network, tmp_path):
    oracle = Oracle(network, BASE, tmp_path / "cache.db")
    oracle.evaluate({"rows": 2, "cols": 2})  # creates the store
    key = point_key(BASE.with_overrides(**POINT), network, oracle.version)
    db = sqlite3.connect(tmp_path / "cache.db")
    db.execute("INSERT INTO results (key, state, owner) VALUES (?, 'running', ?)",
               (key, 2 ** 22 + 12345))  # no such process
    db.commit()
    assert oracle.evaluate(POINT)["latency"] > 0 and oracle.simulations == 2
    state, stored = db.execute("SELECT state, objectives FROM results WHERE key = ?",
                               (key,)).fetchone()
    assert state == "done" and json.loads(stored)["latency"] > 0


def _open_and_count(store: str) -> int:
    from hwloop.arch import PRESETS
    from hwloop.search import Oracle

    oracle = Oracle(None, PRESETS["scalesim_default"], store)
    try:
        return oracle.stored()
    finally:
        oracle.close()


def test_workers_creating_the_store_together_do_not_fail(tmp_path):
    """Processes that open a new store at the same moment race to switch it to WAL; the
    losers wait instead of failing with 'database is locked'."""
    from concurrent.futures import ProcessPoolExecutor

    for attempt in range(5):
        store = str(tmp_path / f"cache{attempt}.db")
        with ProcessPoolExecutor(4) as pool:
            assert list(pool.map(_open_and_count, [store] * 8)) == [0] * 8


def test_store_keys_outlive_new_layer_fields():
    """Layer fields added later (conv groups, dilation) at their plain values leave a point's
    key as stores written before them hold it (this literal was written then)."""
    from hwloop.arch import PRESETS
    from hwloop.search._oracle import point_key
    from hwloop.traces import builtin_network

    key = point_key(PRESETS["scalesim_default"], builtin_network("alexnet"), "0.1.0")
    assert key == "419768c39a895a4e729943f63519694d55a2adeda94614a04de610d0e012eaa5"
