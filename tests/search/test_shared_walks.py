"""Workers sharing a store walk each ifmap buffer once between them (``sim/memory/_walk_store.py``)."""
from __future__ import annotations

import pytest

from hwloop.arch import get_preset
from hwloop.search import Oracle
from hwloop.sim import simulate
from hwloop.sim.memory import _walks, forget_walks
from hwloop.traces import Layer, Network

# overlapping 3x3 windows over more words than the ifmap buffer's window: a walk per point
NETWORK = Network(name="walked", layers=(
    Layer(name="c1", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=64,
          num_filters=32),
    Layer(name="c2", ifmap_h=16, ifmap_w=16, filter_h=3, filter_w=3, channels=96,
          num_filters=16, stride_h=2, stride_w=2)))
BASE = get_preset("scalesim_default").with_overrides(rows=16, cols=8, ifmap_kb=16)


@pytest.fixture
def walks(monkeypatch) -> list:
    """Every buffer walk this process runs, on an empty memo (as in a fresh worker)."""
    done: list = []
    real = _walks._walk_passes

    def counted(*args):
        done.append(args)
        return real(*args)

    monkeypatch.setattr(_walks, "_walk_passes", counted)
    forget_walks()
    yield done
    forget_walks()


def _objectives(point):
    totals = simulate(NETWORK, BASE.with_overrides(**point)).totals
    return {"latency": totals["total_cycles"], "energy": totals["energy_pj"],
            "edp": totals["edp"], "area": totals["area_mm2"]}


def test_a_second_worker_reuses_the_first_ones_walks(walks, tmp_path):
    first = Oracle(NETWORK, BASE, tmp_path / "cache.db")
    first.evaluate({"filter_kb": 64})
    assert len(walks) == 2  # one per layer
    forget_walks()  # another worker: nothing in its own memo
    second = Oracle(NETWORK, BASE, tmp_path / "cache.db")
    point = {"filter_kb": 128, "ofmap_kb": 32}  # a new point, the same ifmap buffer walks
    got = second.evaluate(point)
    assert len(walks) == 2 and second.simulations == 1
    forget_walks()
    assert got == _objectives(point)  # exact: the same numbers a fresh simulation walks for
    assert len(walks) == 4


def test_walks_are_not_shared_when_turned_off_or_across_versions(walks, tmp_path):
    Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"filter_kb": 64})
    forget_walks()
    Oracle(NETWORK, BASE, tmp_path / "cache.db", share_walks=False).evaluate({"filter_kb": 128})
    assert len(walks) == 4
    forget_walks()
    other = Oracle(NETWORK, BASE, tmp_path / "cache.db")
    other.version = "another simulator"  # a walk of another version could count otherwise
    other.evaluate({"filter_kb": 256})
    assert len(walks) == 6


def test_a_different_ifmap_buffer_is_walked(walks, tmp_path):
    Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"ifmap_kb": 16})
    forget_walks()
    Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"ifmap_kb": 8})
    assert len(walks) == 4


def test_workers_share_a_walk_across_array_widths(walks, tmp_path):
    """OS/WS: a stored walk of more passes (fewer columns) serves any wider array; a narrower
    one walks further and the longer walk replaces the stored one."""
    Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"cols": 4})
    assert len(walks) == 2
    forget_walks()
    got = Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"cols": 16})
    assert len(walks) == 2
    forget_walks()
    Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"cols": 2})
    assert len(walks) == 4  # more column folds than stored: walked again
    forget_walks()
    Oracle(NETWORK, BASE, tmp_path / "cache.db").evaluate({"cols": 3})
    assert len(walks) == 4  # served by the longer walk
    forget_walks()
    assert got == _objectives({"cols": 16})


def test_a_store_is_lent_to_one_thread_only(walks, tmp_path):
    """Another thread (a Dask worker's) simulating meanwhile sees no store lent to this one."""
    import threading

    from hwloop.sim import sharing_walks
    from hwloop.sim.memory import _walk_store

    seen = []
    with sharing_walks(Oracle(NETWORK, BASE, tmp_path / "cache.db")):
        thread = threading.Thread(target=lambda: seen.append(_walk_store._lent.get()))
        thread.start()
        thread.join()
        assert _walk_store._lent.get() is not None
    assert seen == [None] and _walk_store._lent.get() is None
