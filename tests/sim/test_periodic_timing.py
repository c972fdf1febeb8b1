"""The periodic timing (pieces + repeated units) against the event path it stands for.

``piece_streams`` must expand to exactly the events of :func:`untraced_events`, and
``periodic_memory`` must give exactly the stall and DRAM columns of :func:`time_events` on
them, for every layer of equal folds, array, buffer, bandwidth and latency.
"""
from __future__ import annotations

from dataclasses import replace
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import Dataflow, get_preset
from hwloop.sim import simulate_totals
from hwloop.sim.kernels import expand_pieces
from hwloop.sim.memory import (
    forget_walks,
    memory_fields,
    periodic_applies,
    periodic_memory,
    periodic_worth,
    piece_streams,
    port_bandwidths,
    time_events,
    time_pieces,
    untraced_events,
)
from hwloop.sim.schedule import schedule
from hwloop.traces import Layer


def _accel(rows, cols, dataflow, kib, bandwidth, latency):
    base = get_preset("scalesim_default")
    return replace(base, array=replace(base.array, rows=rows, cols=cols,
                                       dataflow=Dataflow(dataflow)),
                   sram=replace(base.sram, ifmap_kb=kib[0], filter_kb=kib[1], ofmap_kb=kib[2]),
                   dram=replace(base.dram, bandwidth=bandwidth, latency_cycles=latency))


def _check(layer, accel):
    sched = schedule(layer, accel.array.rows, accel.array.cols, accel.array.dataflow).shape()
    assert periodic_applies(sched, accel.sram)
    streams = piece_streams(sched, accel.sram)
    events = untraced_events(sched, accel.sram)
    expected = ((events.ifmap.need_row, events.ifmap.words),
                (events.filter.need_row, events.filter.words),
                (events.ofmap.start_row, events.ofmap.words),
                (events.ofmap.fill_row, events.ofmap.words))
    for s, (rows, words) in enumerate(expected):
        got_rows, got_words = expand_pieces(streams.pieces[s, :streams.npieces[s]],
                                            streams.rows[s], streams.words[s])
        np.testing.assert_array_equal(got_rows, rows)
        np.testing.assert_array_equal(got_words, words)
    timing = time_events(events, accel.dram, history=False)
    found = periodic_memory(sched, accel, layer.groups)
    assert found is not None
    stall, fields = found
    assert stall == timing.stall_cycles
    assert fields == memory_fields(events, timing, layer.groups)
    return streams, stall


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["os", "ws", "is"]), st.sampled_from([(4, 4), (8, 4), (4, 8), (8, 8)]),
       st.integers(1, 12), st.integers(1, 12), st.integers(1, 12),
       st.tuples(st.sampled_from([1, 2, 4]), st.sampled_from([1, 2, 4]),
                 st.sampled_from([1, 2])),
       st.sampled_from([1, 2, 3, 8, 64]), st.sampled_from([0, 1, 5, 40]))
def test_periodic_timing_equals_the_event_path(dataflow, shape, fm, fn, fk, kib, bandwidth,
                                               latency):
    rows, cols = shape
    # every fold full: the operands' extents are multiples of the array's edges
    m, n, k = fm * rows * cols, fn * cols * rows, fk * rows * cols
    _check(Layer.gemm("g", m, n, k), _accel(rows, cols, dataflow, kib, bandwidth, latency))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["os", "ws", "is"]), st.sampled_from([8, 16, 32]),
       st.integers(1, 8), st.integers(1, 8), st.integers(1, 8),
       st.tuples(st.sampled_from([4, 16, 64]), st.sampled_from([4, 16, 64]),
                 st.sampled_from([2, 8, 32])),
       st.sampled_from([1, 2, 4, 16]), st.sampled_from([0, 1, 20]))
def test_long_streams_equal_the_event_path(dataflow, size, fm, fn, fk, kib, bandwidth,
                                           latency):
    """Longer streams (10^3 to 10^5 transfers): runs of units, runs that go on past another
    stream's event, and the events they take along, all exact."""
    m, n, k = fm * 256, fn * 256, fk * 256
    _check(Layer.gemm("g", m, n, k), _accel(size, size, dataflow, kib, bandwidth, latency))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 6), st.integers(1, 6),
       st.integers(1, 6), st.tuples(st.sampled_from([1, 2, 8, None]),
                                    st.sampled_from([1, 4, None]), st.sampled_from([1, 3, None])),
       st.sampled_from([0, 7]))
def test_split_ports_equal_the_event_path(dataflow, fm, fn, fk, ports, latency):
    """Each operand on a port of its own bandwidth (None: unlimited)."""
    accel = _accel(16, 16, dataflow, (16, 16, 8), 2, latency)
    accel = replace(accel, dram=replace(accel.dram, ifmap_bandwidth=ports[0],
                                        filter_bandwidth=ports[1], ofmap_bandwidth=ports[2]))
    _check(Layer.gemm("g", fm * 256, fn * 256, fk * 256), accel)


def test_a_long_bandwidth_bound_gemm_repeats_most_of_its_units():
    """GEMM 2048x4096x4096 on 32x32, 16 words a cycle: exact, and most transfers are timed
    as repeats of a unit rather than one by one."""
    for dataflow in ("os", "ws"):
        accel = _accel(32, 32, dataflow, (512, 512, 256), 16, 0)
        streams, stall = _check(Layer.gemm("g", 2048, 4096, 4096), accel)
        out = time_pieces(streams, port_bandwidths(accel.dram), 0)
        assert out[0] == stall > 0
        assert out[8] > 0.2 * streams.nevents.sum()  # events skipped as whole units


def test_uneven_folds_take_the_event_path():
    accel = _accel(8, 8, "os", (1, 1, 1), 4, 0)
    sched = schedule(Layer.gemm("g", 60, 64, 64), 8, 8, accel.array.dataflow).shape()
    assert not periodic_applies(sched, accel.sram)


@pytest.mark.parametrize("dataflow, m, n, k, bandwidth", [
    ("os", 128, 64, 128, 2), ("ws", 128, 64, 128, 2), ("is", 64, 128, 96, 1),
    ("os", 64, 64, 256, 1)])
def test_fixed_cases(dataflow, m, n, k, bandwidth):
    """Small layers on 1 KiB buffers (the JIT-off subset runs these): periodic pieces, runs
    that fit the window (one explicit piece) and skipped units, all exact."""
    accel = _accel(4, 4, dataflow, (1, 1, 1), bandwidth, 1)
    streams, stall = _check(Layer.gemm("g", m, n, k), accel)
    out = time_pieces(streams, port_bandwidths(accel.dram), 1)
    assert out[0] == stall > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 6), st.integers(1, 6),
       st.integers(1, 6), st.sampled_from([1, 2, 8]), st.sampled_from([0, 3]),
       st.booleans())
def test_the_engine_reports_what_the_event_path_does(dataflow, fm, fn, fk, bandwidth,
                                                     latency, conv):
    """simulate() takes the periodic timing for layers of equal folds; every column of its
    report equals the event path's (the periodic timing switched off)."""
    accel = _accel(4, 4, dataflow, (1, 1, 1), bandwidth, latency)
    layer = (Layer(name="c", ifmap_h=4 * fm, ifmap_w=4, filter_h=1, filter_w=1, channels=16 * fk,
                   num_filters=16 * fn) if conv  # a 1x1 convolution: windows share no word
             else Layer.gemm("g", 16 * fm, 16 * fn, 16 * fk))
    with mock.patch("hwloop.sim.arrays._systolic.periodic_worth", return_value=True):
        now = simulate_totals(layer, accel)  # small layers too (the engine times them so
        # only from about BUDGET transfers on)
    with mock.patch("hwloop.sim.arrays._systolic.periodic_applies", return_value=False):
        forget_walks()
        before = simulate_totals(layer, accel)
    assert now == before


def test_a_layer_that_rarely_repeats_takes_the_event_path():
    """Budget 0: the periodic timing gives up at its first snapshot that skipped less than
    it timed, and says so (None)."""
    accel = _accel(4, 4, "ws", (1, 1, 1), 1, 0)
    sched = schedule(Layer.gemm("g", 256, 64, 64), 4, 4, accel.array.dataflow).shape()
    assert periodic_memory(sched, accel, 1, budget=0) is None
    assert periodic_memory(sched, accel, 1) is not None


def test_only_layers_of_many_transfers_take_the_periodic_timing():
    accel = _accel(32, 32, "ws", (512, 512, 256), 16, 0)
    small = schedule(Layer.gemm("g", 1024, 1024, 1024), 32, 32, accel.array.dataflow)
    large = schedule(Layer.gemm("g", 2048, 4096, 4096), 32, 32, accel.array.dataflow)
    assert not periodic_worth(small, accel.sram)
    assert periodic_worth(large, accel.sram)
