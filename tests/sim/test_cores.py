"""A chip of several cores: layers split over identical arrays (``sim/engine/_cores.py``).

The reference is the one-array engine itself: every part is a layer it simulates, so these
tests hold the split (every output, filter and channel on exactly one core), the combination
(critical path, sums, multicast, the mesh reduction) and the bars of the issue."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Chip, SystolicArray, get_preset
from hwloop.sim import simulate
from hwloop.sim.cli import main
from hwloop.sim.engine._cores import reduction, split
from hwloop.traces import InputError, Layer, LayerKind, builtin_network

BASE = get_preset("scalesim_default")


def _work(layer: Layer) -> int:
    """Output pixels x filters x window: what the parts must cover exactly once."""
    return layer.ofmap_pixels * layer.num_filters * layer.groups * (
        layer.filter_h * layer.filter_w * layer.channel_group)


layers = st.one_of(
    st.builds(lambda h, f, c, n, s: Layer(name="c", ifmap_h=h + f, ifmap_w=h + f, filter_h=f,
                                          filter_w=f, channels=c, num_filters=n, stride_h=s,
                                          stride_w=s),
              st.integers(1, 12), st.integers(1, 3), st.integers(1, 20), st.integers(1, 20),
              st.integers(1, 2)),
    st.builds(lambda m, n, k: Layer.gemm("g", m, n, k), st.integers(1, 30), st.integers(1, 30),
              st.integers(1, 30)),
    st.builds(lambda h, c: Layer(name="dw", ifmap_h=h + 2, ifmap_w=h + 2, filter_h=3,
                                 filter_w=3, channels=c, num_filters=1,
                                 kind=LayerKind.DEPTHWISE),
              st.integers(1, 10), st.integers(1, 12)))


@settings(max_examples=80, deadline=None)
@given(layer=layers, axis=st.sampled_from(["m", "n", "k"]), parts=st.integers(1, 9))
def test_parts_cover_the_layer_once(layer, axis, parts):
    pieces = split(layer, axis, parts)
    assert 1 <= len(pieces) <= parts
    assert sum(_work(p) for p in pieces) == _work(layer)
    if axis == "m":
        assert sum(p.ofmap_h for p in pieces) == layer.ofmap_h
        assert all(p.ofmap_w == layer.ofmap_w for p in pieces)


@settings(max_examples=40, deadline=None)
@given(layer=layers, cores=st.integers(1, 6), partition=st.sampled_from(["m", "n", "k", "auto"]),
       dataflow=st.sampled_from(["os", "ws", "is"]))
def test_macs_are_conserved_and_cycles_follow_the_critical_path(layer, cores, partition,
                                                                dataflow):
    accel = Accelerator(array=SystolicArray(rows=4, cols=4, dataflow=dataflow))
    one = simulate(layer, accel).layers.iloc[0]
    chip = simulate(layer, accel.with_overrides(cores=cores, partition=partition)).layers.iloc[0]
    assert chip["macs"] == one["macs"]
    if cores == 1:
        assert chip["total_cycles"] == one["total_cycles"]
    else:
        busy = [int(c) for c in chip["core_cycles"].split("/")]
        assert chip["total_cycles"] == max(busy) + chip["noc_cycles"]
        assert len(chip["core_dram_words"].split("/")) == len(busy)
        assert chip["core_stall_cycles"] == "/".join("0" for _ in busy)  # unlimited DRAM
        assert chip["ofmap_sram_writes"] >= 0 and chip["partition"] in "mnk"


def test_one_core_is_todays_engine():
    for name in ("resnet18", "alexnet", "transformer_block"):
        network = builtin_network(name)
        one = simulate(network, BASE.with_overrides(cores=1)).totals
        assert one == simulate(network, BASE).totals


def test_a_compute_bound_gemm_on_four_cores_takes_at_most_0_3_the_cycles():
    gemm = Layer.gemm("g", 2048, 1024, 1024)
    one = simulate(gemm, BASE).totals["total_cycles"]
    four = simulate(gemm, BASE.with_overrides(cores=4)).totals["total_cycles"]
    assert four <= 0.3 * one


def test_shared_operands_are_fetched_once_and_multicast():
    layer = Layer(name="c", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=32,
                  num_filters=64)
    m = simulate(layer, BASE.with_overrides(cores=4, partition="m")).layers.iloc[0]
    part = simulate(split(layer, "m", 4)[0], BASE).layers.iloc[0]
    assert m["dram_filter_reads"] == part["dram_filter_reads"]  # once, to every core
    n = simulate(layer, BASE.with_overrides(cores=4, partition="n")).layers.iloc[0]
    part = simulate(split(layer, "n", 4)[0], BASE).layers.iloc[0]
    assert n["dram_ifmap_reads"] == part["dram_ifmap_reads"]


def test_k_partial_sums_are_reduced_over_the_mesh():
    layer = Layer.gemm("g", 64, 32, 512)
    accel = BASE.with_overrides(cores=4, partition="k", noc_bw=8)
    report = simulate(layer, accel)
    row = report.layers.iloc[0]
    assert (row["noc_cycles"], row["noc_word_hops"]) == reduction(layer, 4, accel.chip)
    assert row["noc_word_hops"] == 3 * 64 * 32  # three cores each send their sums one hop
    assert row["noc_cycles"] == 2 * (64 * 32 // 8 + 2 - 2)  # a 2x2 mesh: row, then column
    assert report.totals["energy_breakdown"]["noc"] == pytest.approx(3 * 64 * 32 * 0.8)
    faster = simulate(layer, BASE.with_overrides(cores=4, partition="k", noc_bw=64))
    assert faster.totals["total_cycles"] < report.totals["total_cycles"]
    line = simulate(layer, BASE.with_overrides(cores=4, partition="k", noc_bw=8, mesh_rows=1))
    assert line.layers.iloc[0]["noc_cycles"] == 64 * 32 // 8 + 4 - 2  # one row of four


def test_area_and_leakage_count_every_core():
    one, four = simulate(Layer.gemm("g", 8, 8, 8), BASE), simulate(
        Layer.gemm("g", 8, 8, 8), BASE.with_overrides(cores=4))
    fixed = BASE.energy.fixed_area_mm2
    assert four.totals["area_mm2"] - fixed == pytest.approx(4 * (one.totals["area_mm2"] - fixed))
    assert Chip(cores=12).mesh == (3, 4) and Chip(cores=7).mesh == (1, 7)
    assert Chip(cores=12, mesh_rows=2).mesh == (2, 6)
    with pytest.raises(InputError, match="do not fill"):
        Chip(cores=12, mesh_rows=5)


@pytest.mark.parametrize("extra, reason", [
    (["--bandwidth", "4", "--array-kind", "bitfusion"], "bitfusion arrays"),
    (["--mapping", "auto"], "explicit mappings"),
    (["--scalesim-compat"], "one array"),
    (["--array-kind", "analog"], "analog cores"),
])
def test_what_a_chip_does_not_model_yet_is_one_line(capsys, extra, reason):
    code = main(["simulate", "--network", "alexnet", "--cores", "4", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and reason in err and len(err.splitlines()) == 1


def test_bad_chip_values_name_the_field():
    with pytest.raises(InputError, match="partition"):
        Chip(partition="z")
    with pytest.raises(InputError) as info:
        BASE.with_overrides(cores=0)
    assert info.value.field == "cores"


# ---------------------------------------------------------------- a shared finite DRAM


@settings(max_examples=60, deadline=None)
@given(h=st.integers(2, 12), f=st.sampled_from([1, 3]), c=st.integers(1, 20),
       n=st.integers(1, 30), rows=st.integers(2, 9), cols=st.integers(2, 9),
       dataflow=st.sampled_from(["os", "ws", "is"]), bandwidth=st.sampled_from([1, 2, 4, 16]),
       latency=st.sampled_from([0, 3]), kb=st.sampled_from([1, 4, 64]))
def test_one_core_on_the_shared_dram_stalls_as_one_array(h, f, c, n, rows, cols, dataflow,
                                                         bandwidth, latency, kb):
    """The shared-DRAM timing with one core is the fixed pipe's, stall for stall."""
    from hwloop.arch import Dram, Sram
    from hwloop.sim.memory import shared_stalls, time_events, untraced_events
    from hwloop.sim.schedule import array_schedule

    layer = Layer(name="", ifmap_h=h + f, ifmap_w=h + f, filter_h=f, filter_w=f, channels=c,
                  num_filters=n)
    accel = Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow),
                        sram=Sram(ifmap_kb=kb, filter_kb=kb, ofmap_kb=kb),
                        dram=Dram(bandwidth=bandwidth, latency_cycles=latency))
    events = untraced_events(array_schedule(layer, accel.array).shape(), accel.sram)
    stalls, _ = shared_stalls([events], accel.dram)
    assert stalls == [time_events(events, accel.dram).stall_cycles]


@pytest.mark.parametrize("partition", ["m", "n", "k"])
@pytest.mark.parametrize("groups", [1, 8])
def test_dram_words_and_macs_do_not_depend_on_the_bandwidth(partition, groups):
    layer = Layer(name="c", ifmap_h=18, ifmap_w=18, filter_h=3, filter_w=3, channels=32,
                  num_filters=48 // groups, conv_groups=groups)
    chip = BASE.with_overrides(cores=4, partition=partition, ifmap_kb=8, filter_kb=8,
                               ofmap_kb=8)
    words = ("dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "macs")
    unlimited = simulate(layer, chip).totals
    for bandwidth in (1, 4, 32):
        finite = simulate(layer, chip.with_overrides(bandwidth=bandwidth)).totals
        assert {k: finite[k] for k in words} == {k: unlimited[k] for k in words}
        assert finite["total_cycles"] >= unlimited["total_cycles"]


def test_cores_contend_for_the_shared_dram():
    """More bandwidth never slows the chip; at 1 word per cycle four cores take longer than
    one core alone with its quarter of the layer on the same DRAM (they wait for the port)."""
    layer = Layer(name="c", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=64,
                  num_filters=64)
    chip = BASE.with_overrides(cores=4, partition="m")
    cycles = [simulate(layer, chip.with_overrides(bandwidth=bw)).layers.iloc[0]
              for bw in (1, 4, 64)]
    totals = [r["total_cycles"] + r["prefetch_cycles"] for r in cycles]
    assert totals == sorted(totals, reverse=True)
    alone = simulate(split(layer, "m", 4)[0], BASE.with_overrides(bandwidth=1)).layers.iloc[0]
    assert totals[0] > alone["total_cycles"] + alone["prefetch_cycles"]


@pytest.mark.parametrize("layer", [
    Layer.gemm("g", 512, 512, 512),
    Layer(name="c", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=64,
          num_filters=64)], ids=["gemm", "conv"])
def test_four_cores_on_a_one_word_dram_are_at_most_10_percent_faster(layer):
    """When one array already keeps a DRAM port busy (4 KiB buffers at 1 word per cycle),
    four cores splitting by pixels share that port and gain at most 10% (the prefetch
    counted: every core's first blocks come through the same port)."""
    accel = BASE.with_overrides(bandwidth=1, ifmap_kb=4, filter_kb=4, ofmap_kb=4)
    one = simulate(layer, accel).layers.iloc[0]
    four = simulate(layer, accel.with_overrides(cores=4, partition="m")).layers.iloc[0]
    busy = max(one["dram_ifmap_reads"], one["dram_filter_reads"], one["dram_ofmap_writes"])
    assert one["total_cycles"] + one["prefetch_cycles"] <= 1.01 * busy  # DRAM-bound
    assert four["total_cycles"] + four["prefetch_cycles"] >= (
        one["total_cycles"] + one["prefetch_cycles"]) / 1.1


def test_every_core_has_a_vector_unit():
    from hwloop.sim.vector import vector_cycles
    from hwloop.traces import VectorKind, VectorOp

    op = VectorOp(name="relu", kind=VectorKind.RELU, elements=100_000)
    one, _ = vector_cycles(op, BASE)
    four, _ = vector_cycles(op, BASE.with_overrides(cores=4))
    assert four == -(-one // 4)
    network = builtin_network("resnet18", vector_ops=True)
    chip = simulate(network, BASE.with_overrides(cores=4)).layers
    vector = chip[chip["array_kind"] == "vector"]
    assert (vector["vector_util"] <= 100.0).all() and vector["vector_ops"].sum() > 0


@settings(max_examples=25, deadline=None)
@given(h=st.integers(2, 10), f=st.sampled_from([1, 3]), c=st.integers(1, 16),
       n=st.integers(1, 20), side=st.integers(2, 8),
       dataflow=st.sampled_from(["os", "ws", "is"]),
       model=st.sampled_from(["ddr4-3200", "lpddr4-3200"]), kb=st.sampled_from([1, 4]))
def test_one_core_on_a_shared_device_stalls_as_one_array(h, f, c, n, side, dataflow, model, kb):
    """The shared device with one core is the device model of one array, stall for stall."""
    from hwloop.arch import Dram, Sram
    from hwloop.sim.memory import collect_layer_events, shared_device_stalls, time_events_simpy
    from hwloop.sim.schedule import array_schedule

    layer = Layer(name="", ifmap_h=h + f, ifmap_w=h + f, filter_h=f, filter_w=f, channels=c,
                  num_filters=n)
    accel = Accelerator(array=SystolicArray(rows=side, cols=side, dataflow=dataflow),
                        sram=Sram(ifmap_kb=kb, filter_kb=kb, ofmap_kb=kb),
                        dram=Dram(model=model))
    events = collect_layer_events(array_schedule(layer, accel.array), accel.sram,
                                  record_addresses=True)
    stalls, _ = shared_device_stalls([events], accel)
    assert stalls == [time_events_simpy(events, accel).stall_cycles]


def test_cores_share_one_dram_device():
    layer = Layer(name="c", ifmap_h=18, ifmap_w=18, filter_h=3, filter_w=3, channels=32,
                  num_filters=32)
    chip = BASE.with_overrides(dram_model="ddr4-3200", cores=4, partition="n")
    row = simulate(layer, chip).layers.iloc[0]
    unlimited = simulate(layer, BASE.with_overrides(cores=4, partition="n")).layers.iloc[0]
    assert row["dram_ifmap_reads"] == unlimited["dram_ifmap_reads"]  # multicast, once
    assert row["total_cycles"] > unlimited["total_cycles"] and row["stall_cycles"] > 0
