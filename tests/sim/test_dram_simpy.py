"""The SimPy memory system: exactly the pipe when configured as one; the DRAM device model."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hwloop.arch import DDR4_3200, DRAM_DEVICES, LPDDR4_3200, Dram, get_dram_device, get_preset
from hwloop.sim import simulate
from hwloop.sim.memory import (
    CONFLICT,
    HIT,
    MISS,
    DramDeviceModel,
    MemoryEvents,
    MemoryTiming,
    ReadBlocks,
    WriteChunks,
    collect_layer_events,
    simulate_memory,
    time_events,
    time_events_simpy,
    time_transfers,
)
from hwloop.sim.schedule import array_schedule
from hwloop.traces import InputError, Layer

BASE = get_preset("scalesim_default")


def assert_same_timing(got: MemoryTiming, want: MemoryTiming) -> None:
    assert got.stall_cycles == want.stall_cycles
    assert got.stall_rows.tolist() == want.stall_rows.tolist()
    assert got.stall_after.tolist() == want.stall_after.tolist()
    for a, b in zip(got.starts, want.starts):
        assert a.dtype == b.dtype and a.tolist() == b.tolist()
    assert got.bandwidths == want.bandwidths
    assert got.latency == want.latency


# ------------------------------------------------------------------ pipe mode: random events

@st.composite
def memory_events(draw):
    top = draw(st.sampled_from([2, 12, 60, 500]))  # small ranges make rows coincide

    def rows(n):
        return sorted(draw(st.lists(st.integers(0, top), min_size=n, max_size=n)))

    def words(n):
        return np.array(draw(st.lists(st.integers(1, 300), min_size=n, max_size=n)), np.int64)

    n_if, n_f, n_o = (draw(st.integers(0, 8)) for _ in range(3))
    ifmap = ReadBlocks(np.array(rows(n_if), np.int64), words(n_if))
    filt = ReadBlocks(np.array(rows(n_f), np.int64), words(n_f))
    bounds = rows(2 * n_o)
    start, fill = np.array(bounds[0::2], np.int64), np.array(bounds[1::2], np.int64)
    # chunk j starting in the row where chunk j-2 fills is outside the spec (see below)
    assume(not np.any(start[2:] == fill[:-2]))
    return MemoryEvents(ifmap, filt, WriteChunks(start, fill, words(n_o)), last_row=top + 1)


port_bandwidth = st.one_of(st.none(), st.integers(1, 64))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(events=memory_events(), bws=st.tuples(port_bandwidth, port_bandwidth, port_bandwidth),
       latency=st.integers(0, 50))
def test_pipe_mode_equals_the_pipe_on_random_events(events, bws, latency):
    accel = BASE.with_overrides(ifmap_bandwidth=bws[0], filter_bandwidth=bws[1],
                                ofmap_bandwidth=bws[2], dram_latency=latency)
    assert_same_timing(time_events_simpy(events, accel), time_events(events, accel.dram))


# ------------------------------------------------------------------ pipe mode: real layers

LAYERS = [
    Layer(name="conv", ifmap_h=12, ifmap_w=12, filter_h=3, filter_w=3, channels=6,
          num_filters=20),
    Layer(name="strided", ifmap_h=15, ifmap_w=9, filter_h=2, filter_w=3, channels=4,
          num_filters=9, stride_h=2, stride_w=1),
    Layer.gemm("gemm", 40, 24, 70),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_pipe_mode_equals_the_pipe_on_layers(layer, dataflow):
    accel = BASE.with_overrides(rows=8, cols=4, dataflow=dataflow, ifmap_kb=1, filter_kb=1,
                                ofmap_kb=1)
    events = collect_layer_events(array_schedule(layer, accel.array), accel.sram)
    assert events.ifmap.words.size + events.filter.words.size > 2
    for dram in (Dram(bandwidth=1), Dram(bandwidth=3, latency_cycles=20),
                 Dram(bandwidth=16, latency_cycles=5),
                 Dram(ifmap_bandwidth=2, filter_bandwidth=64, latency_cycles=11),
                 Dram(filter_bandwidth=1, ofmap_bandwidth=4, latency_cycles=50), Dram()):
        accel = dataclasses.replace(accel, dram=dram)
        assert_same_timing(time_events_simpy(events, accel), time_events(events, dram))


def test_pipe_mode_with_stalls_everywhere():
    layer = Layer(name="c", ifmap_h=14, ifmap_w=14, filter_h=3, filter_w=3, channels=8,
                  num_filters=24)
    accel = BASE.with_overrides(rows=8, cols=8, dataflow="ws", ifmap_kb=1, filter_kb=1,
                                ofmap_kb=1, bandwidth=2, dram_latency=9)
    events = collect_layer_events(array_schedule(layer, accel.array), accel.sram)
    timing = time_events_simpy(events, accel)
    assert timing.stall_cycles > 0 and timing.stall_rows.size > 10
    assert_same_timing(timing, time_events(events, accel.dram))


def test_a_chunk_starting_where_its_predecessor_but_one_fills_waits_for_that_drain():
    # One row writes three ofmap halves: chunk 2 reuses chunk 0's half, which fills in the
    # same row. The spec orders starts before fills, so chunk 0's drain is not yet placed
    # when chunk 2 starts; the model lets the row's earlier writes (chunk 0's fill) go first.
    ofmap = WriteChunks(np.array([5, 5, 5]), np.array([5, 5, 5]), np.array([10, 10, 10]))
    empty = ReadBlocks(np.zeros(0, np.int64), np.zeros(0, np.int64))
    events = MemoryEvents(empty, empty, ofmap, last_row=5)
    timing = time_events_simpy(events, BASE.with_overrides(bandwidth=1))
    assert timing.stall_cycles == 10  # chunk 0 drains over cycles 5..14
    assert timing.starts[2].tolist() == [5, 15, 25]


def test_out_of_order_events_are_refused():
    blocks = ReadBlocks(np.array([3, 1]), np.array([4, 4]))
    none = WriteChunks(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="order"):
        time_events_simpy(MemoryEvents(blocks, blocks, none, last_row=3), BASE)


# ------------------------------------------------------------------ the device description

def test_presets_and_registry():
    assert DRAM_DEVICES == {"ddr4-3200": DDR4_3200, "lpddr4-3200": LPDDR4_3200}
    assert get_dram_device("lpddr4-3200") is LPDDR4_3200
    with pytest.raises(InputError, match="ddr4-3200, lpddr4-3200") as err:
        get_dram_device("hbm9")
    assert err.value.field == "model"
    assert DDR4_3200.burst_bytes == 64 and DDR4_3200.peak_bytes_per_ns == Fraction("25.6")
    assert LPDDR4_3200.burst_bytes == 32 and LPDDR4_3200.peak_bytes_per_ns == Fraction("12.8")


@pytest.mark.parametrize("change, field", [
    ({"channels": 0}, "channels"), ({"banks": 2.5}, "banks"), ({"t_rcd_ns": -1.0}, "t_rcd_ns"),
    ({"t_cas_ns": "14"}, "t_cas_ns"), ({"bank_groups": 3}, "bank_groups"),
    ({"row_bytes": 100}, "row_bytes"), ({"mapping": "bank:row:column"}, "mapping"),
    ({"mapping": "row:bank:column:bank"}, "mapping"), ({"mapping": "row:column"}, "mapping"),
    ({"mapping": "row:bank:col"}, "mapping"), ({"channels": 2, "mapping": "row:bank:column"},
                                               "mapping"),
    ({"shared_bus": 1}, "shared_bus"), ({"name": ""}, "name"),
])
def test_bad_devices_name_the_field(change, field):
    with pytest.raises(InputError) as err:
        dataclasses.replace(DDR4_3200, **change)
    assert err.value.field == field


def test_ns_to_cycles_rounds_up_exactly():
    assert DDR4_3200.cycles(13.75, 1.0) == 14 and DDR4_3200.cycles(13.75, 0.5) == 7
    assert DDR4_3200.cycles(14.0, 0.5) == 7 and DDR4_3200.cycles(10, 0.7) == 7  # 0.7 is 7/10
    assert DDR4_3200.access_cycles("hit", 1.0) == 14
    assert DDR4_3200.access_cycles("miss", 1.0) == 28
    assert DDR4_3200.access_cycles("conflict", 1.0) == 42  # ceil(41.25)
    assert DDR4_3200.access_cycles("conflict", 0.5) == 21  # ceil(20.625)
    assert LPDDR4_3200.access_cycles("hit", 1.0) == 18 and LPDDR4_3200.access_cycles("hit", 0.5) == 9
    assert LPDDR4_3200.access_cycles("conflict", 0.5) == 27  # (18 + 18 + 17.5) / 2 = 26.75


# ------------------------------------------------------------------ the device model

def test_a_sequential_stream_in_one_row_hits_after_the_first_burst():
    model = DramDeviceModel(DDR4_3200, 1.0, record=True)
    timing = model.submit(0, 0, np.arange(8192), 1)  # one 8 KiB row, 128 bursts
    log = model.burst_log()
    assert timing.bursts == 128 and log["kind"].tolist() == [MISS] + [HIT] * 127
    assert set(log["row"].tolist()) == {0} and set(log["bank"].tolist()) == {0}
    assert model.stats() == {"hit": 127, "miss": 1, "conflict": 0}
    # first data tRCD + tCAS after the ACT, then back-to-back bursts of 2.5 ns
    ticks = model.ticks_per_ns
    assert log["data_start"][0] - log["command"][0] == 27.5 * ticks
    assert np.all(np.diff(log["data_start"]) == 2.5 * ticks)
    assert timing.start == 0 and timing.last == 347  # 27.5 + 128 * 2.5 = 347.5 ns


def test_alternating_rows_in_one_bank_conflict_at_trp_trcd_tcas():
    model = DramDeviceModel(DDR4_3200, 1.0, record=True)
    row_stride = 16 * 8192  # row:bank:channel:column, one channel, 16 banks
    for i in range(6):
        model.submit(0, 0, np.array([(i % 2) * row_stride]), 1)
    log = model.burst_log()
    assert log["kind"].tolist() == [MISS] + [CONFLICT] * 5
    assert set(log["bank"].tolist()) == {0} and log["row"].tolist() == [0, 1] * 3
    ticks = model.ticks_per_ns
    latency = log["data_start"] - log["command"]
    assert latency[0] == (13.75 + 13.75) * ticks
    assert np.all(latency[1:] == (13.75 + 13.75 + 13.75) * ticks)
    # a lone conflict long after: from its cycle to its last beat, ceil(41.25 + 2.5) cycles
    late = model.submit(0, 1000, np.array([0]), 1)
    assert (late.start, late.last) == (1000, 1043)
    assert model.stats() == {"hit": 0, "miss": 1, "conflict": 6}


@pytest.mark.parametrize("device, peak", [(DDR4_3200, 25.6), (LPDDR4_3200, 12.8)])
def test_long_sequential_transfer_streams_near_peak(device, peak):
    model = DramDeviceModel(device, 1.0)
    words = 1 << 20  # 1 MiB of one-byte words
    timing = model.submit(0, 0, np.arange(words), 1)
    rate = words / (timing.last - timing.start + 1)
    assert 0.99 * peak < rate <= peak
    assert model.peak_words_per_cycle(1) == Fraction(str(peak))
    stats = model.stats()  # one activation per row, every other burst a hit
    assert stats["miss"] + stats["conflict"] == words // device.row_bytes


def test_mapping_spreads_bursts_over_channels_and_banks():
    model = DramDeviceModel(LPDDR4_3200, 1.0)  # 2 KiB rows of 64 bursts, 2 channels, 8 banks
    channel, bank, row = model.decode(np.arange(64 * 2 * 8 * 2))
    assert channel.tolist()[:130] == [0] * 64 + [1] * 64 + [0] * 2
    assert bank[::128].tolist() == list(range(8)) * 2 and row[::1024].tolist() == [0, 1]
    grouped = dataclasses.replace(DDR4_3200, ranks=2, mapping="row:rank:bank:bankgroup:column")
    channel, bank, row = DramDeviceModel(grouped, 1.0).decode(np.arange(0, 128 * 64, 128))
    # bank group changes fastest, then the bank within it, then the rank
    assert bank.tolist()[:6] == [0, 4, 8, 12, 1, 5] and bank[16] == 16
    assert row.tolist()[31:33] == [0, 1]
    # a 5-byte word straddling two bursts touches both; each burst is fetched once
    ddr4 = DramDeviceModel(DDR4_3200, 1.0)  # 64-byte bursts
    assert ddr4.bursts(0, np.array([12, 13, 0]), 5).tolist() == [0, 1]
    assert ddr4.bursts(2, np.array([1]), 150).tolist() == [(2 << 30) // 64 + i for i in (2, 3, 4)]


def shared_and_separate(device):
    shared = DramDeviceModel(device, 1.0, record=True)
    separate = DramDeviceModel(dataclasses.replace(device, shared_bus=False), 1.0, record=True)
    for model in (shared, separate):
        for port in range(3):
            model.submit(port, 0, np.arange(4096), 1)
    return shared, separate


def test_the_data_bus_carries_one_burst_at_a_time():
    for device in (DDR4_3200, LPDDR4_3200):
        shared, separate = shared_and_separate(device)
        for model, queues in ((shared, [None]), (separate, [0, 1, 2])):
            log = model.burst_log()
            ticks = model.ticks_per_cycle
            for port in queues:
                for ch in range(device.channels):
                    pick = log["channel"] == ch
                    if port is not None:
                        pick &= log["port"] == port
                    begin, end = log["data_start"][pick], log["data_end"][pick]
                    assert np.all(end - begin == device.burst_ns * model.ticks_per_ns)
                    assert np.all(begin[1:] >= end[:-1])  # in order, never overlapping
                    # so no cycle moves more bytes than the bus carries in a cycle
                    cycle_bytes = np.zeros(end.max() // ticks + 2)
                    for b, e in zip(begin, end):
                        for c in range(b // ticks, (e - 1) // ticks + 1):
                            overlap = min(e, (c + 1) * ticks) - max(b, c * ticks)
                            cycle_bytes[c] += device.burst_bytes * overlap / (e - b)
                    per_channel = float(device.peak_bytes_per_ns) / device.channels
                    assert cycle_bytes.max() <= per_channel * ticks / model.ticks_per_ns + 1e-9
        # three ports on one bus take three times as long as on three devices
        last = {m: m.burst_log()["data_end"].max() for m in (shared, separate)}
        assert last[shared] > 2.5 * last[separate]


def test_transfers_must_arrive_in_order_and_time_transfers_sorts_them():
    model = DramDeviceModel(DDR4_3200, 1.0)
    model.submit(0, 10, np.arange(64), 1)
    with pytest.raises(ValueError, match="order"):
        model.submit(1, 9, np.arange(64), 1)
    timings, stats = time_transfers(DDR4_3200, 1.0, [(0, 50, np.arange(64), 1),
                                                     (1, 0, np.arange(128), 2)])
    assert timings[1].start == 0 and timings[0].start == 50 and timings[1].bursts == 4
    # the filter region (1 GiB up) starts in bank 0 too, so the ifmap burst conflicts
    assert stats == {"hit": 3, "miss": 1, "conflict": 1}


# ------------------------------------------------------------------ device mode, end to end

CONV = Layer(name="c", ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=4,
             num_filters=16)


@pytest.mark.parametrize("model", sorted(DRAM_DEVICES))
def test_device_mode_runs_in_simpy(model):
    accel = BASE.with_overrides(rows=8, cols=8, dataflow="ws", ifmap_kb=1, filter_kb=1,
                                ofmap_kb=1, dram_model=model)
    events = collect_layer_events(array_schedule(CONV, accel.array), accel.sram, record_addresses=True)
    run = simulate_memory(events, accel)
    timing = run.timing
    assert timing.stall_cycles >= 0 and sum(run.row_stats.values()) > 0
    assert np.all(np.diff(timing.stall_after) > 0)
    peak = int(get_dram_device(model).peak_bytes_per_ns)  # one-byte words at 1 GHz
    assert timing.bandwidths == (peak,) * 3
    for starts in timing.starts:
        assert np.all(np.diff(starts) > 0)
    assert min(timing.starts[0][0], timing.starts[1][0]) < 0  # block 0 prefetched ahead
    # the same device passed in, on an accelerator that names none
    plain = dataclasses.replace(accel, dram=Dram())
    assert_same_timing(time_events_simpy(events, plain, device=get_dram_device(model)), timing)
    # extra controller latency delays every read by as much
    later = simulate_memory(events, accel.with_overrides(dram_latency=40)).timing
    assert later.latency == 40 and later.starts[0][0] == timing.starts[0][0] - 40


def test_a_lone_block_is_prefetched_just_in_time():
    words = np.arange(1000)
    block = ReadBlocks(np.array([7]), np.array([1000]), words)
    none = ReadBlocks(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    chunks = WriteChunks(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                         np.zeros(0, np.int64))
    events = MemoryEvents(block, none, chunks, last_row=7)
    timing = time_events_simpy(events, BASE, device=DDR4_3200)
    # 16 bursts: 27.5 ns to the first data, then 16 x 2.5 ns; usable in the last beat's cycle
    assert timing.stall_cycles == 0 and timing.starts[0].tolist() == [7 - 67]


def test_device_mode_needs_addresses():
    accel = BASE.with_overrides(rows=8, cols=8, ifmap_kb=1, filter_kb=1, ofmap_kb=1)
    events = collect_layer_events(array_schedule(CONV, accel.array), accel.sram)
    with pytest.raises(ValueError, match="record_addresses"):
        time_events_simpy(events, accel, device=DDR4_3200)


def test_simulate_with_a_dram_model():
    accel = BASE.with_overrides(rows=8, cols=8, dataflow="os", ifmap_kb=1, filter_kb=1,
                                ofmap_kb=1)
    free = simulate(CONV, accel).layers.iloc[0]
    row = simulate(CONV, accel.with_overrides(dram_model="ddr4-3200")).layers.iloc[0]
    assert row.stall_cycles >= 0
    assert row.total_cycles == free.total_cycles + row.stall_cycles
    for key in ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes"):
        assert row[key] == free[key]
    for name in ("ifmap", "filter", "ofmap"):
        assert row[f"dram_{name}_start"] <= row[f"dram_{name}_stop"]
        assert 0 < row[f"avg_{name}_dram_bw"] and 0 < row[f"peak_{name}_dram_bw"] <= 25
    assert row.prefetch_cycles > 0
    with pytest.raises(InputError, match="lpddr4-3200"):
        simulate(CONV, accel.with_overrides(dram_model="hbm9"))


def test_device_mode_reports_and_traces_each_transfers_real_end(tmp_path):
    """The DRAM columns and trace cycles use the device model's last cycle per transfer."""
    import h5py

    from hwloop.arch import get_preset
    from hwloop.sim import simulate
    from hwloop.traces import Layer

    layer = Layer(name="c", ifmap_h=12, ifmap_w=12, filter_h=3, filter_w=3, channels=8,
                  num_filters=16)
    accel = get_preset("scalesim_default").with_overrides(rows=8, cols=8, ifmap_kb=1,
                                                          dram_model="lpddr4-3200")
    path = tmp_path / "d.h5"
    row = simulate(layer, accel, trace=path).layers.iloc[0]
    with h5py.File(path) as f:
        for op, stream in (("ifmap", "ifmap_read"), ("filter", "filter_read"),
                           ("ofmap", "ofmap_write")):
            cycles = f[f"layers/layer_0000/dram/{stream}/cycle"][:]
            assert cycles.size == row[f"dram_{op}_{'writes' if op == 'ofmap' else 'reads'}"]
            assert (cycles.min(), cycles.max()) == (row[f"dram_{op}_start"], row[f"dram_{op}_stop"])
            assert np.all(np.diff(cycles) >= 0)
