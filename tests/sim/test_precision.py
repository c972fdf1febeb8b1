"""Precision-scalable arrays: each PE model, mapped on the systolic schedule, exactly."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.sim.cli import main
from hwloop.sim.engine import parse_switch, precision_switch
from hwloop.sim.schedule import fold_plan
from hwloop.traces import InputError, Layer, Network, parse_topology

from .test_properties import moderate_layers

BASE = get_preset("scalesim_default").with_overrides(rows=8, cols=8, ifmap_kb=4, filter_kb=4,
                                                     ofmap_kb=4)
COUNTS = ("total_cycles", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
          "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes", "macs", "stall_cycles")


def row(layer, accel, **bits):
    return simulate(replace(layer, **bits), accel).layers.iloc[0]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=moderate_layers(), dataflow=st.sampled_from(["os", "ws", "is"]))
def test_bit_fusion_at_8_bits_is_the_systolic_engine(layer, dataflow):
    plain = row(layer, BASE.with_overrides(dataflow=dataflow))
    fused = row(layer, BASE.with_overrides(dataflow=dataflow, array_kind="bitfusion"))
    for key in COUNTS + ("overall_util", "compute_util", "mapping_eff"):
        assert fused[key] == plain[key], key


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=moderate_layers(), dataflow=st.sampled_from(["os", "ws", "is"]),
       w=st.integers(1, 16), a=st.integers(1, 16), per_cycle=st.sampled_from([1, 2, 3, 8]),
       operand=st.sampled_from(["weight", "act"]))
def test_bit_serial_stretches_the_systolic_cycles(layer, dataflow, w, a, per_cycle, operand):
    serial = BASE.with_overrides(dataflow=dataflow, array_kind="bitserial",
                                 bits_per_cycle=per_cycle, serial_operand=operand)
    plain = row(layer, BASE.with_overrides(dataflow=dataflow), weight_bits=w, act_bits=a)
    got = row(layer, serial, weight_bits=w, act_bits=a)
    factor = math.ceil((w if operand == "weight" else a) / per_cycle)
    assert got.total_cycles == plain.total_cycles * factor
    for key in COUNTS[1:]:  # same words, same packing
        assert got[key] == plain[key], key
    assert got.macs_per_pe_cycle == pytest.approx(1 / factor)


BIG_OS = Layer.gemm("g", 64, 64, 256)  # 8x8 OS: T = 256 divisible by 1, 4, 16


@pytest.mark.parametrize("bits, k", [(8, 1), (4, 4), (2, 16)])
def test_bit_fusion_os_streams_k_products_per_cycle(bits, k):
    accel = BASE.with_overrides(array_kind="bitfusion", dataflow="os")
    got = row(BIG_OS, accel, weight_bits=bits, act_bits=bits)
    plan = fold_plan(BIG_OS, 8, 8, accel.array.dataflow)
    # the streaming part of each fold shrinks exactly k-fold; pipeline fill stays
    assert got.total_cycles + 1 == plan.folds * (plan.temporal // k + 8 + 8 - 2)
    assert got.macs_per_pe_cycle == k


@pytest.mark.parametrize("w, a, k", [(8, 4, 2), (4, 8, 2), (8, 2, 4), (4, 2, 8), (2, 2, 16)])
def test_bit_fusion_asymmetric_widths(w, a, k):
    accel = BASE.with_overrides(array_kind="bitfusion", dataflow="ws")
    got = row(BIG_OS, accel, weight_bits=w, act_bits=a)
    wide = row(BIG_OS, BASE.with_overrides(rows=8 * k, dataflow="ws"), weight_bits=w, act_bits=a)
    assert got.macs_per_pe_cycle == k
    assert got.total_cycles == wide.total_cycles  # k reduction rows per fusion unit


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_compute_bound_throughput_scales_as_the_pe_model_says(bits):
    """Steady state: each fold streams T/k cycles, so MACs per streaming cycle = PEs x k."""
    accel = BASE.with_overrides(array_kind="bitfusion", dataflow="os")
    got = row(BIG_OS, accel, weight_bits=bits, act_bits=bits)
    plan = fold_plan(BIG_OS, 8, 8, accel.array.dataflow)
    k = {8: 1, 4: 4, 2: 16}[bits]
    streaming = plan.folds * plan.temporal // k
    assert got.macs / streaming == 64 * k


def test_two_in_one_normalisation():
    array = BASE.with_overrides(array_kind="2in1").array
    assert array.lanes == 2 and array.macs_per_pe_cycle(8, 8) == 1
    assert array.macs_per_pe_cycle(4, 4) == 4 and array.macs_per_pe_cycle(2, 2) == 8
    assert array.macs_per_pe_cycle(8, 3) == 2  # any activation width runs, in serial cycles
    accel = BASE.with_overrides(array_kind="2in1", dataflow="ws")
    got = row(BIG_OS, accel, weight_bits=8, act_bits=8)
    fused = row(BIG_OS, BASE.with_overrides(array_kind="bitfusion", rows=8, dataflow="ws"),
                weight_bits=8, act_bits=4)  # k = 2 reduction products, as 2 lanes
    assert got.total_cycles == 2 * fused.total_cycles  # two serial cycles of 4 act bits
    same = row(BIG_OS, BASE.with_overrides(array_kind="2in1", bits_per_cycle=8, dataflow="ws"))
    assert same.total_cycles == row(BIG_OS, BASE.with_overrides(dataflow="ws")).total_cycles


def test_dram_bytes_scale_with_bits():
    small = Layer(name="s", ifmap_h=8, ifmap_w=8, filter_h=3, filter_w=3, channels=4,
                  num_filters=8)  # fits every buffer at every width: same words
    accel = BASE.with_overrides(array_kind="bitserial")
    rows = {b: row(small, accel, weight_bits=b, act_bits=b) for b in (8, 4, 2)}
    for b in (4, 2):
        assert rows[b].dram_ifmap_reads == rows[8].dram_ifmap_reads
        for key in ("dram_ifmap_bytes", "dram_filter_bytes", "dram_ofmap_bytes"):
            assert rows[b][key] * 8 == rows[8][key] * b


def test_packing_lets_a_buffer_hold_more_words():
    layer = Layer(name="c", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=32,
                  num_filters=32)
    eight = row(layer, BASE, weight_bits=8, act_bits=8)
    two = row(layer, BASE, weight_bits=2, act_bits=2)
    assert two.dram_ifmap_reads < eight.dram_ifmap_reads


@pytest.mark.parametrize("kind, bits, field", [("bitfusion", (3, 8), "weight_bits"),
                                               ("bitfusion", (8, 6), "act_bits"),
                                               ("2in1", (8, 9), "act_bits"),
                                               ("bitserial", (20, 8), "weight_bits")])
def test_widths_an_array_cannot_run_are_refused(kind, bits, field):
    with pytest.raises(InputError) as info:
        row(BIG_OS, BASE.with_overrides(array_kind=kind), weight_bits=bits[0], act_bits=bits[1])
    assert info.value.field == field


def test_cli_refuses_three_bit_bit_fusion(capsys):
    assert main(["simulate", "--array-kind", "bitfusion", "--weight-bits", "3", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--weight-bits" in err and "2, 4 or 8" in err and len(err.splitlines()) == 1


def test_topology_widths_by_header():
    layers = parse_topology(["Layer, M, N, K, ActBits, WeightBits,", "a, 16, 16, 16, 4, 2,",
                             "b, 16, 16, 16, , ,"])
    report = simulate(Network(name="n", layers=layers), BASE.with_overrides(array_kind="bitfusion"))
    assert list(report.layers.weight_bits) == [2, 8] and list(report.layers.act_bits) == [4, 8]
    assert list(report.layers.macs_per_pe_cycle) == [8.0, 1.0]


def test_random_precision_switch_expected_and_worst():
    net = Network(name="n", layers=(BIG_OS, Layer.gemm("h", 32, 16, 64)))
    accel = BASE.with_overrides(array_kind="bitfusion")
    choices = parse_switch("8:0.5,4:0.3,4x2:0.2")
    assert choices == ((8, 8, 0.5), (4, 4, 0.3), (4, 2, 0.2))
    result = precision_switch(net, accel, choices)
    cycles = [r.totals["total_cycles"] for r in result.reports]
    assert result.expected["total_cycles"] == pytest.approx(0.5 * cycles[0] + 0.3 * cycles[1]
                                                            + 0.2 * cycles[2])
    assert result.worst["total_cycles"] == max(cycles) == cycles[0]
    with pytest.raises(InputError, match="sum to 1"):
        parse_switch("8:0.5,4:0.3")


def test_dataflow_search_keeps_each_layers_fastest():
    net = Network(name="n", layers=(BIG_OS, Layer(name="c", ifmap_h=12, ifmap_w=12, filter_h=3,
                                                  filter_w=3, channels=16, num_filters=4)))
    accel = BASE.with_overrides(array_kind="bitfusion")
    best = simulate(net, accel, choose_dataflow="latency")
    for layer, got in zip(net.layers, best.layers.itertuples()):
        each = {d: simulate(layer, accel.with_overrides(dataflow=d)).totals["total_cycles"]
                for d in ("os", "ws", "is")}
        assert got.total_cycles == min(each.values())
        assert each[got.dataflow] == got.total_cycles


@pytest.mark.parametrize("argv, option", [
    (["--serial-operand", "act"], "--serial-operand"),
    (["--array-kind", "bitfusion", "--bits-per-cycle", "2"], "--bits-per-cycle"),
    (["--array-kind", "2in1", "--bits-per-cycle", "3"], "--bits-per-cycle"),
    (["--energy", "nope"], "--energy"),
])
def test_precision_options_an_array_lacks_are_one_line(argv, option, capsys):
    assert main(["simulate", "--network", "alexnet", "-q", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert option in err and len(err.splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_fusion_tilings_spend_k_on_rows_or_columns(dataflow):
    accel = BASE.with_overrides(array_kind="bitfusion", dataflow=dataflow)
    layer = Layer.gemm("g", 40, 70, 96)
    at = lambda kr: row(layer, replace(accel, array=replace(accel.array, fusion_rows=kr)),  # noqa: E731
                        weight_bits=4, act_bits=4)
    cols = at(1)  # all 4 MACs widen the columns: a rows x 4*cols systolic array
    wide = row(layer, BASE.with_overrides(cols=32, dataflow=dataflow), weight_bits=4, act_bits=4)
    assert cols.total_cycles == wide.total_cycles and cols.tiling == "1x4"
    assert at(4).tiling == "4x1" and at(2).tiling == "2x2"
    with pytest.raises(InputError, match="does not divide"):
        at(3)


def test_search_covers_dataflows_and_tilings():
    accel = BASE.with_overrides(array_kind="bitfusion")
    layer = replace(Layer.gemm("g", 40, 70, 96), weight_bits=2, act_bits=2)
    best = simulate(layer, accel, choose_dataflow="latency").layers.iloc[0]
    every = [row(layer, BASE.with_overrides(array_kind="bitfusion", dataflow=d).__class__(
        **{**BASE.__dict__, "array": replace(BASE.with_overrides(array_kind="bitfusion",
                                                                  dataflow=d).array,
                                               fusion_rows=kr)}))
             for d in ("os", "ws", "is") for kr in (1, 2, 4, 8, 16)]
    assert best.total_cycles == min(r.total_cycles for r in every)
    assert best.tiling in {r.tiling for r in every if r.total_cycles == best.total_cycles}
