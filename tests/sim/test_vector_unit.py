"""The vector unit: operators without MACs as report rows, against a hand count and against
the cycle-by-cycle reference ``tests/naive_vector.py``."""
from __future__ import annotations

import importlib.util
import math
import pathlib
from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Dram, VectorUnit, get_preset, load_config
from hwloop.sim import simulate, simulate_totals, simulate_vector_op
from hwloop.traces import OPS_PER_ELEMENT, InputError, Layer, Network, VectorKind, VectorOp


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"hwloop_tests_{name}", pathlib.Path(__file__).resolve().parents[1] / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naive_vector = _load("naive_vector")
BASE = get_preset("scalesim_default")


def test_softmax_by_hand():
    """4 rows of 1000: 5 operations per element on 32 lanes, 4,000 words in and out."""
    op = VectorOp(name="sm", kind="softmax", elements=4000, row=1000)
    row = simulate_vector_op(op, BASE)
    assert op.ops == 20_000
    assert row["total_cycles"] == 20_000 // 32 == 625  # compute-bound: ports need 125
    assert row["macs"] == 0 and row["vector_ops"] == 20_000
    assert row["ifmap_sram_reads"] == row["dram_ifmap_reads"] == 4000
    assert row["ofmap_sram_writes"] == row["dram_ofmap_writes"] == 4000
    assert row["filter_sram_reads"] == 0
    assert row["kind"] == "softmax" and row["array_kind"] == "vector"
    assert row["energy_breakdown"]["vector"] == 20_000 * BASE.vector.energy_per_op_pj
    assert row["energy_pj"] == pytest.approx(sum(row["energy_breakdown"].values()))


def test_layernorm_reads_gamma_and_beta_and_an_add_is_port_bound():
    norm = VectorOp(name="ln", kind="layernorm", elements=512 * 768, row=768)
    assert norm.parameter_words == 2 * 768
    assert norm.ops == 512 * 768 * 7
    add = VectorOp(name="res", kind="add", elements=4096, operands=2)
    unit = VectorUnit(lanes=64, ops_per_lane=2, port_words=16)
    row = simulate_vector_op(add, replace(BASE, vector=unit))
    assert row["total_cycles"] == 2 * 4096 // 16  # reads 8,192 words at 16 a cycle
    assert row["vector_util"] == pytest.approx(100 * 4096 / (512 * 128))


def test_pool_counts_its_window():
    op = VectorOp(name="pool", kind="pool", elements=56 * 56 * 64, window=9)
    assert op.ops == op.input_words == 56 * 56 * 64 * 9


def test_finite_dram_stalls_by_the_slowest_port_and_the_latency():
    op = VectorOp(name="g", kind="gelu", elements=4096)
    accel = BASE.with_overrides(bandwidth=2, dram_latency=30)
    row = simulate_vector_op(op, accel)
    busy = 4096 * OPS_PER_ELEMENT[VectorKind.GELU] // 32
    assert row["total_cycles"] == max(busy, 4096 // 2 + 30)
    assert row["stall_cycles"] == row["total_cycles"] - busy


def test_a_dram_device_model_moves_everything_at_its_peak():
    op = VectorOp(name="a", kind="add", elements=1 << 16, operands=2)
    accel = BASE.with_overrides(dram_model="ddr4-3200")
    row = simulate_vector_op(op, accel)
    per_cycle = Fraction("25.6") / Fraction(BASE.clock_ghz)  # 25.6 GB/s, one-byte words
    assert row["total_cycles"] == math.ceil(3 * (1 << 16) / per_cycle)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(list(VectorKind)), elements=st.integers(1, 5000),
       operands=st.integers(1, 3), window=st.integers(1, 9), row=st.integers(1, 64),
       lanes=st.integers(1, 64), per_lane=st.integers(1, 4), port=st.integers(1, 64),
       bandwidth=st.one_of(st.none(), st.integers(1, 16)), filter_bw=st.integers(1, 8),
       latency=st.integers(0, 50))
def test_rows_equal_the_cycle_by_cycle_reference(kind, elements, operands, window, row, lanes,
                                                 per_lane, port, bandwidth, filter_bw, latency):
    op = VectorOp(name="v", kind=kind, elements=elements, operands=operands, window=window,
                  row=row)
    dram = (Dram() if bandwidth is None else
            Dram(bandwidth=bandwidth, filter_bandwidth=filter_bw, latency_cycles=latency))
    accel = replace(BASE, dram=dram,
                    vector=VectorUnit(lanes=lanes, ops_per_lane=per_lane, port_words=port))
    got = simulate_vector_op(op, accel)
    reads = op.input_words + op.parameter_words
    words = [op.input_words, op.parameter_words, op.output_words]
    want = naive_vector.vector_row(
        op.ops, reads, op.output_words, lanes, per_lane, port,
        None if bandwidth is None else (words, list(dram.port_bandwidths()), latency))
    assert (got["total_cycles"], got["stall_cycles"]) == want


def _net(vector_ops):
    layers = (Layer.gemm("q", 128, 64, 64), Layer.gemm("o", 128, 64, 64))
    return Network(name="n", layers=layers, vector_ops=vector_ops)


def test_rows_run_in_model_order_and_the_totals_add_them():
    ops = ((0, VectorOp(name="norm", kind="rmsnorm", elements=128 * 64, row=64)),
           (1, VectorOp(name="act", kind="silu", elements=128 * 64)),
           (2, VectorOp(name="res", kind="add", elements=128 * 64, operands=2)))
    report = simulate(_net(ops), BASE)
    assert list(report.layers["name"]) == ["norm", "q", "act", "o", "res"]
    plain = simulate(_net(()), BASE)
    arrays = report.layers[report.layers["array_kind"] == "systolic"]
    assert list(arrays["total_cycles"]) == list(plain.layers["total_cycles"])
    assert report.totals["macs"] == plain.totals["macs"] == 2 * 128 * 64 * 64
    assert report.totals["vector_ops"] == sum(op.ops for _, op in ops)
    assert report.totals["total_cycles"] == report.layers["total_cycles"].sum()
    assert report.totals["energy_pj"] == pytest.approx(report.layers["energy_pj"].sum())
    assert report.totals["energy_breakdown"]["vector"] == pytest.approx(
        sum(op.ops for _, op in ops) * BASE.vector.energy_per_op_pj)
    assert simulate_totals(_net(ops), BASE) == report.totals


def test_a_network_without_vector_operators_reports_as_before():
    report = simulate(_net(()), BASE)
    assert "vector" not in report.totals["energy_breakdown"]
    assert report.totals["vector_ops"] == 0
    assert report.layers["vector_ops"].isna().all()


def test_vector_operators_out_of_order_or_of_unknown_kind_are_refused():
    with pytest.raises(InputError, match="model order"):
        _net(((2, VectorOp(name="a", kind="relu", elements=4)),
              (1, VectorOp(name="b", kind="relu", elements=4))))
    with pytest.raises(InputError, match="unknown vector operator") as info:
        VectorOp(name="x", kind="tanh", elements=4)
    assert info.value.field == "kind"
    with pytest.raises(InputError) as info:
        VectorOp(name="x", kind="relu", elements=0)
    assert info.value.field == "elements"


def test_toml_vector_table(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('[vector]\npreset = "tpu-v1"\nlanes = 128\n')
    accel = load_config(path)
    assert accel.vector == VectorUnit(lanes=128, ops_per_lane=1, port_words=256,
                                      energy_per_op_pj=0.23)
    assert Accelerator.from_dict(accel.to_dict()) == accel
    path.write_text('[array]\nrows = 8\n\n[vector]\nlanes = 0\n')
    with pytest.raises(InputError) as info:
        load_config(path)
    assert (info.value.line, info.value.field) == (5, "vector.lanes")
    path.write_text('[vector]\npreset = "gpu"\n')
    with pytest.raises(InputError) as info:
        load_config(path)
    assert (info.value.line, info.value.field) == (2, "vector.preset")


def test_the_lanes_are_an_override_a_cli_option_and_a_search_parameter(tmp_path, capsys):
    from hwloop.search import load_space
    from hwloop.sim.cli import main

    accel = BASE.with_overrides(vector_lanes=8, vector_port_words=4)
    assert (accel.vector.lanes, accel.vector.port_words) == (8, 4)
    with pytest.raises(InputError) as info:
        BASE.with_overrides(vector_lanes=0)
    assert info.value.field == "vector_lanes"
    assert main(["simulate", "--vector-lanes", str(2**40), "-q"]) == 2
    err = capsys.readouterr().err
    assert "--vector-lanes" in err and len(err.strip().splitlines()) == 1
    space = tmp_path / "s.toml"
    space.write_text("[params.vector_lanes]\nvalues = [16, 64]\n")
    assert [p.name for p in load_space(space).params] == ["vector_lanes"]


def test_a_trace_records_the_array_layers_and_the_report_keeps_every_row(tmp_path):
    from hwloop.traces import open_trace

    ops = ((1, VectorOp(name="act", kind="relu", elements=128 * 64)),)
    accel = BASE.with_overrides(bandwidth=8)
    path = tmp_path / "run.h5"
    report = simulate(_net(ops), accel, trace=path)
    assert list(report.layers["name"]) == ["q", "act", "o"]
    assert report.totals == simulate_totals(_net(ops), accel)
    with open_trace(path) as trace:
        assert len(trace.layers) == 2
