"""``simulate_totals`` (the search oracle's call) gives exactly ``simulate(...).totals``."""
from __future__ import annotations

import pytest

from hwloop.arch import PRESETS
from hwloop.sim import simulate, simulate_totals
from hwloop.sim.memory import forget_walks
from hwloop.sim.memory._walks import _WALKED_ROWS, _walked_ifmap_fetches
from hwloop.traces import builtin_network

CASES = [
    {"dataflow": "os"}, {"dataflow": "ws", "rows": 8, "cols": 16, "ifmap_kb": 32},
    {"dataflow": "is", "rows": 64, "cols": 8, "filter_kb": 16, "ofmap_kb": 16},
    {"array_kind": "bitfusion", "weight_bits": 4, "act_bits": 4},
    {"dataflow": "os", "bandwidth": 8},
]


@pytest.mark.parametrize("overrides", CASES, ids=[str(i) for i in range(len(CASES))])
def test_totals_equal_the_reports(overrides):
    widths = {k: overrides.pop(k) for k in ("weight_bits", "act_bits") if k in overrides}
    accel = PRESETS["scalesim_default"].with_overrides(**overrides)
    network = builtin_network("alexnet")
    if widths:
        from dataclasses import replace

        from hwloop.traces import Network
        network = Network(name=network.name,
                          layers=tuple(replace(layer, **widths) for layer in network.layers))
    assert simulate_totals(network, accel) == simulate(network, accel).totals


def test_memoised_ifmap_counts_equal_fresh_walks():
    """The per-process memo of walked ifmap counts returns what a fresh walk gives."""
    network = builtin_network("resnet18")
    accel = PRESETS["scalesim_default"].with_overrides(rows=16, cols=16, ifmap_kb=32)
    forget_walks()
    fresh = simulate(network, accel).layers["dram_ifmap_reads"].tolist()
    assert _walked_ifmap_fetches.cache_info().currsize > 0
    again = simulate(network, accel.with_overrides(ofmap_kb=16)).layers["dram_ifmap_reads"]
    assert again.tolist() == fresh
    assert _walked_ifmap_fetches.cache_info().hits > 0


def test_events_are_reused_across_bandwidths_and_retimed_exactly():
    """Finite-bandwidth events depend on the layer, array and buffers only: a second DRAM
    re-times the memoised events and gives what a fresh walk gives."""
    from hwloop.sim.memory import untraced_events

    network = builtin_network("alexnet")
    base = PRESETS["scalesim_default"].with_overrides(rows=16, cols=16)
    untraced_events.cache_clear()
    first = simulate(network, base.with_overrides(bandwidth=4)).totals
    walked = untraced_events.cache_info().misses
    second = simulate_totals(network, base.with_overrides(bandwidth=16))
    assert untraced_events.cache_info().misses == walked  # no new walk
    untraced_events.cache_clear()
    assert second == simulate(network, base.with_overrides(bandwidth=16)).totals
    assert first["stall_cycles"] > second["stall_cycles"]


def test_finite_bandwidths_reuse_one_walk():
    """The events of a finite-DRAM run take their ifmap blocks from a memo: a point that
    differs in its DRAM and other buffers walks nothing new for layers already walked."""
    network = builtin_network("resnet18")
    base = PRESETS["scalesim_default"].with_overrides(rows=16, cols=16, ifmap_kb=32)
    forget_walks()
    simulate_totals(network, base.with_overrides(bandwidth=4))
    walked = len(_WALKED_ROWS)
    assert walked > 0 and _WALKED_ROWS.misses == walked
    simulate_totals(network, base.with_overrides(bandwidth=8, ofmap_kb=16, filter_kb=128))
    assert _WALKED_ROWS.misses == walked and _WALKED_ROWS.hits >= walked


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_finite_bandwidth_reuses_the_stall_free_walks(dataflow, monkeypatch):
    """A stall-free walk records its block rows too: a point with finite DRAM, other buffers
    and a wider array walks none of those buffers again (only the layers the stall-free
    count needs no walk for: 1x1 convolutions), and its numbers equal a fresh simulation's."""
    from hwloop.sim.memory import _walks

    walks = []
    real = _walks.ifmap_rows
    monkeypatch.setattr(_walks, "ifmap_rows", lambda *args: walks.append(args) or real(*args))
    network = builtin_network("resnet18")
    base = PRESETS["scalesim_default"].with_overrides(rows=16, cols=8, ifmap_kb=32,
                                                      dataflow=dataflow)
    forget_walks()
    simulate_totals(network, base)
    walked = len(walks)
    assert walked > 0
    finite = base.with_overrides(bandwidth=8, ofmap_kb=16, filter_kb=128, cols=32)
    got = simulate_totals(network, finite)
    again = [args for args in walks[walked:] if args[3:6] in {w[3:6] for w in walks[:walked]}]
    assert again == [] and all(args[5] == args[6] == 1 for args in walks[walked:])  # 1x1 only
    forget_walks()
    assert got == simulate(network, finite).totals


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_every_column_count_shares_one_walk(dataflow, monkeypatch):
    """OS and WS run one identical pass per column fold, so an array of other columns reads
    its count off the per-pass counts of a walk already done; each count equals a fresh
    walk's."""
    from hwloop.sim.memory import _walks

    walks = []
    real = _walks.ifmap_rows
    monkeypatch.setattr(_walks, "ifmap_rows",
                        lambda *args: walks.append(args) or real(*args))
    network = builtin_network("resnet18")
    base = PRESETS["scalesim_default"].with_overrides(rows=32, ifmap_kb=32, dataflow=dataflow)
    forget_walks()
    got = {8: simulate_totals(network, base.with_overrides(cols=8))["dram_ifmap_reads"]}
    one_width = len(walks)
    assert one_width > 0
    for cols in (128, 16, 64):  # fewer column folds: prefixes of the walk done
        got[cols] = simulate_totals(network, base.with_overrides(cols=cols))["dram_ifmap_reads"]
    assert len(walks) == one_width
    got[4] = simulate_totals(network, base.with_overrides(cols=4))["dram_ifmap_reads"]
    assert len(walks) > one_width  # more passes than walked: walked again, further
    for cols, count in got.items():
        forget_walks()
        assert simulate(network, base.with_overrides(cols=cols)).totals["dram_ifmap_reads"] \
            == count
