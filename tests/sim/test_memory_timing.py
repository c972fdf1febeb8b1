"""Finite DRAM bandwidth: events, their timing against the naive rules, and invariants."""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import Dram, get_preset
from hwloop.sim import simulate
from hwloop.sim.arrays import simulate_systolic_layer
from hwloop.sim.memory import (
    UNLIMITED,
    MemoryEvents,
    ReadBacks,
    ReadBlocks,
    WriteChunks,
    collect_layer_events,
    memory_fields,
    time_events,
)
from hwloop.sim.schedule import array_schedule, iter_demand
from hwloop.traces import InputError, Layer

from .test_properties import moderate_layers

_spec = importlib.util.spec_from_file_location(
    "hwloop_tests_naive_memory", pathlib.Path(__file__).resolve().parents[1] / "naive_memory.py")
naive_memory = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive_memory)

BASE = get_preset("scalesim_default")


def small_accel(dataflow, rows=8, cols=8, kb=(1, 1, 1), **dram):
    return BASE.with_overrides(rows=rows, cols=cols, dataflow=dataflow, ifmap_kb=kb[0],
                               filter_kb=kb[1], ofmap_kb=kb[2], **dram)


CONV = Layer(name="c", ifmap_h=14, ifmap_w=14, filter_h=3, filter_w=3, channels=8,
             num_filters=24, stride_h=1, stride_w=1)


# ------------------------------------------------------------------ events

@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("kb", [(1, 1, 1), (2, 1, 4), (64, 64, 64)])
def test_events_move_the_stall_free_engines_words(dataflow, kb):
    accel = small_accel(dataflow, kb=kb)
    events = collect_layer_events(array_schedule(CONV, accel.array), accel.sram, record_addresses=True)
    row = simulate_systolic_layer(CONV, accel)
    assert events.ifmap.words.sum() == row["dram_ifmap_reads"]
    assert events.filter.words.sum() == row["dram_filter_reads"]
    assert events.ofmap.words.sum() == row["dram_ofmap_writes"]
    assert events.ifmap.addresses.size == events.ifmap.words.sum()
    # blocks are first needed in order, and the ofmap halves are cut in order
    assert np.all(np.diff(events.ifmap.need_row) >= 0)
    assert np.all(events.ofmap.start_row <= events.ofmap.fill_row)


def test_ofmap_chunks_cut_the_written_stream():
    accel = small_accel("os", kb=(1, 1, 1))
    events = collect_layer_events(array_schedule(CONV, accel.array), accel.sram, record_addresses=True)
    written = np.concatenate([c.ofmap[c.ofmap >= 0] for c in iter_demand(array_schedule(CONV, accel.array))])
    assert np.array_equal(events.ofmap.addresses, written)
    assert set(events.ofmap.words[:-1]) == {512}  # ceil(1024 * 0.5)


# ------------------------------------------------------------------ kernel vs naive rules

@st.composite
def random_events(draw):
    def rows(n, unique=False):
        return sorted(draw(st.lists(st.integers(0, 400), min_size=n, max_size=n, unique=unique)))

    n_if, n_f, n_o = draw(st.integers(0, 6)), draw(st.integers(0, 6)), draw(st.integers(0, 6))
    words = st.integers(1, 300)
    ifmap = ReadBlocks(np.array(rows(n_if), dtype=np.int64),
                       np.array(draw(st.lists(words, min_size=n_if, max_size=n_if)), dtype=np.int64))
    filt = ReadBlocks(np.array(rows(n_f), dtype=np.int64),
                      np.array(draw(st.lists(words, min_size=n_f, max_size=n_f)), dtype=np.int64))
    bounds = rows(2 * n_o, unique=True)  # a half never starts where the one before last ends
    start, fill = np.array(bounds[0::2], dtype=np.int64), np.array(bounds[1::2], dtype=np.int64)
    ofmap = WriteChunks(start, fill, np.array(draw(st.lists(words, min_size=n_o, max_size=n_o)),
                                              dtype=np.int64))
    return MemoryEvents(ifmap, filt, ofmap, last_row=401)


@settings(max_examples=300, deadline=None)
@given(events=random_events(), bws=st.tuples(*[st.sampled_from([1, 3, 16, 100, None])] * 3),
       latency=st.integers(0, 30))
def test_pipe_kernel_follows_the_written_rules(events, bws, latency):
    dram = Dram(ifmap_bandwidth=bws[0], filter_bandwidth=bws[1], ofmap_bandwidth=bws[2],
                latency_cycles=latency)
    timing = time_events(events, dram)
    full = [UNLIMITED if b is None else b for b in bws]
    stall, history, starts = naive_memory.pipe_timing(
        list(zip(events.ifmap.need_row, events.ifmap.words)),
        list(zip(events.filter.need_row, events.filter.words)),
        list(zip(events.ofmap.start_row, events.ofmap.fill_row, events.ofmap.words)),
        full, latency)
    assert timing.stall_cycles == stall
    assert list(zip(timing.stall_rows.tolist(), timing.stall_after.tolist())) == history
    for got, want in zip(timing.starts, starts):
        assert got.tolist() == want
    bare = time_events(events, dram, history=False)  # what an untraced report uses
    assert bare.stall_cycles == stall
    assert memory_fields(events, bare) == memory_fields(events, timing)
    for got, want in zip(bare.starts, starts):
        assert got.tolist() == want
    with pytest.raises(ValueError, match="no stall history"):
        bare.stall_at(np.array([0]))


@st.composite
def random_read_backs(draw, max_count=6):
    """Partial-sum read-backs: issue rows in order, each needed at a later row, need rows
    in order (as an explicit mapping's events have them)."""
    n = draw(st.integers(0, max_count))
    issue = sorted(draw(st.lists(st.integers(0, 380), min_size=n, max_size=n)))
    need, last = [], 0
    for row in issue:
        last = max(last, row + draw(st.integers(1, 40)))
        need.append(last)
    words = draw(st.lists(st.integers(1, 300), min_size=n, max_size=n))
    return ReadBacks(np.array(issue, dtype=np.int64), np.array(need, dtype=np.int64),
                     np.array(words, dtype=np.int64))


def naive_timing(events, bandwidths, latency):
    """The reference's (stall, history, starts) for ``events``, read-backs included."""
    psum = events.psum
    return naive_memory.pipe_timing(
        list(zip(events.ifmap.need_row, events.ifmap.words)),
        list(zip(events.filter.need_row, events.filter.words)),
        list(zip(events.ofmap.start_row, events.ofmap.fill_row, events.ofmap.words)),
        [UNLIMITED if b is None else b for b in bandwidths], latency,
        psum=list(zip(psum.issue_row, psum.need_row, psum.words)))


@settings(max_examples=300, deadline=None)
@given(events=random_events(), psum=random_read_backs(),
       bws=st.tuples(*[st.sampled_from([1, 3, 16, 100, None])] * 3), latency=st.integers(0, 30))
def test_pipe_kernel_follows_the_written_rules_with_read_backs(events, psum, bws, latency):
    events = MemoryEvents(events.ifmap, events.filter, events.ofmap, events.last_row, psum)
    dram = Dram(ifmap_bandwidth=bws[0], filter_bandwidth=bws[1], ofmap_bandwidth=bws[2],
                latency_cycles=latency)
    timing = time_events(events, dram)
    stall, history, starts = naive_timing(events, bws, latency)
    assert timing.stall_cycles == stall
    assert list(zip(timing.stall_rows.tolist(), timing.stall_after.tolist())) == history
    for got, want in zip((*timing.starts, timing.psum_starts), starts, strict=True):
        assert got.tolist() == want
    # drains and read-backs share the ofmap port and never overlap on it
    port = sorted(zip([*timing.starts[2].tolist(), *timing.psum_starts.tolist()],
                      [*events.ofmap.words.tolist(), *psum.words.tolist()]))
    bw = UNLIMITED if bws[2] is None else bws[2]
    for (s0, w0), (s1, _) in zip(port, port[1:]):
        assert s1 >= s0 + -(-w0 // bw)


def test_read_backs_by_hand():
    # Ofmap port 4 words/cycle, latency 2; two ofmap chunks and two read-backs.
    # row 0:  read-back 0 (60 words, 15 cycles) issues at once: cycles 0-14, usable at 16.
    # row 10: chunk 1 starts; read-back 0 is needed, usable at 16: stall 16 - 10 = 6. Then
    #         chunk 0 fills: its drain waits for the port (free at 15) and for the row
    #         (cycle 16): cycles 16-17. Read-back 1 (40 words, 10 cycles) issues after it:
    #         cycles 18-27, usable at 29.
    # row 20: read-back 1 is needed: stall 29 - 20 = 9. Chunk 1 then drains at 20 + 9 = 29.
    events = MemoryEvents(
        ReadBlocks(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)),
        ReadBlocks(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)),
        WriteChunks(np.array([0, 10]), np.array([10, 20]), np.array([8, 8])),
        last_row=20,
        psum=ReadBacks(np.array([0, 10]), np.array([10, 20]), np.array([60, 40])))
    timing = time_events(events, Dram(ofmap_bandwidth=4, latency_cycles=2))
    assert timing.stall_cycles == 9
    assert timing.stall_rows.tolist() == [10, 20]
    assert timing.stall_after.tolist() == [6, 9]
    assert timing.starts[2].tolist() == [16, 29]
    assert timing.psum_starts.tolist() == [0, 18]
    assert naive_timing(events, (None, None, 4), 2) == (9, [(10, 6), (20, 9)],
                                                         ([], [], [16, 29], [0, 18]))


# ------------------------------------------------------------------ invariants

def per_cycle_words(starts, words, bandwidth):
    """Words each cycle of a port carries (a dict), expanded word by word."""
    counts: dict[int, int] = {}
    for s, w in zip(starts, words):
        for i in range(int(w)):
            c = int(s) + i // bandwidth
            counts[c] = counts.get(c, 0) + 1
    return counts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=moderate_layers(), dataflow=st.sampled_from(["os", "ws", "is"]),
       kb=st.sampled_from([(1, 1, 1), (4, 2, 1), (16, 16, 8)]),
       bws=st.lists(st.integers(1, 64), min_size=3, max_size=3, unique=True),
       latency=st.integers(0, 20))
def test_bandwidth_invariants(layer, dataflow, kb, bws, latency):
    accel = small_accel(dataflow, rows=16, cols=16, kb=kb)
    free = simulate_systolic_layer(layer, accel)
    events = collect_layer_events(array_schedule(layer, accel.array), accel.sram)
    stalls = []
    for bw in sorted(bws):
        dram = Dram(bandwidth=bw, latency_cycles=latency)
        timing = time_events(events, dram)
        stalls.append(timing.stall_cycles)
        for words, starts in zip((events.ifmap.words, events.filter.words, events.ofmap.words),
                                 timing.starts):
            if words.size:
                assert max(per_cycle_words(starts, words, bw).values()) <= bw
                # transfers on one port never overlap
                assert np.all(starts[1:] >= starts[:-1] + -(-words[:-1] // bw))
        row = simulate_systolic_layer(layer, accel.with_overrides(bandwidth=bw,
                                                                   dram_latency=latency))
        for key in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
                    "ifmap_sram_reads", "macs"):
            assert row[key] == free[key]  # DRAM words do not depend on bandwidth
        assert row["total_cycles"] == free["total_cycles"] + row["stall_cycles"]
    assert stalls == sorted(stalls, reverse=True)  # more bandwidth, never more stalls
    unlimited = time_events(events, Dram(bandwidth=UNLIMITED, latency_cycles=0))
    assert unlimited.stall_cycles == 0


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_unlimited_bandwidth_equals_the_stall_free_run(dataflow):
    accel = small_accel(dataflow, kb=(2, 2, 2))
    free = simulate(CONV, accel).layers.iloc[0]
    huge = simulate(CONV, accel.with_overrides(bandwidth=1 << 30)).layers.iloc[0]
    for key in ("total_cycles", "stall_cycles", "dram_ifmap_reads", "dram_filter_reads",
                "dram_ofmap_writes", "ofmap_sram_writes", "overall_util"):
        assert huge[key] == free[key], key
    assert huge["prefetch_cycles"] == 0
    assert free["dram_ifmap_start"] is None or np.isnan(free["dram_ifmap_start"])


def test_latency_delays_and_bandwidth_limits():
    accel = small_accel("ws", kb=(1, 1, 1), bandwidth=2)
    slow = simulate(CONV, accel).layers.iloc[0]
    late = simulate(CONV, accel.with_overrides(dram_latency=50)).layers.iloc[0]
    assert slow.stall_cycles > 0
    assert late.stall_cycles >= slow.stall_cycles
    assert late.prefetch_cycles == slow.prefetch_cycles + 50
    assert slow.peak_ifmap_dram_bw == 2 and 0 < slow.avg_ifmap_dram_bw <= 2


def test_depthwise_groups_repeat_the_schedule():
    dw = Layer(name="dw", ifmap_h=40, ifmap_w=40, filter_h=3, filter_w=3, channels=5,
               num_filters=1, kind="depthwise")
    accel = small_accel("ws", kb=(1, 1, 1), bandwidth=1)
    row = simulate_systolic_layer(dw, accel)
    one = simulate_systolic_layer(Layer(name="one", ifmap_h=40, ifmap_w=40, filter_h=3,
                                        filter_w=3, channels=1, num_filters=1), accel)
    assert row["stall_cycles"] == 5 * one["stall_cycles"] > 0
    assert row["total_cycles"] == 5 * one["total_cycles"]


def test_bad_bandwidths_are_refused():
    for bad in (0, -3, 2.5):
        with pytest.raises(InputError, match="bandwidth"):
            BASE.with_overrides(bandwidth=bad)
