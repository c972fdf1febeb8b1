"""Properties every per-layer result must have, on layers of moderate size.

These need no reference model: bounds (cycles, utilisations, DRAM traffic against the words
an operand really holds), consistency between the two modes, determinism, and refusal of
jobs too large to index.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Sram, SystolicArray
from hwloop.sim.arrays import simulate_systolic_layer
from hwloop.traces import InputError, Layer


def accelerator(rows, cols, dataflow, kb=(64, 64, 64)):
    return Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow),
                       sram=Sram(ifmap_kb=kb[0], filter_kb=kb[1], ofmap_kb=kb[2]))


@st.composite
def moderate_layers(draw):
    kind = draw(st.sampled_from(["conv", "conv", "conv", "gemm", "depthwise"]))
    if kind == "gemm":
        return Layer.gemm("g", draw(st.integers(1, 256)), draw(st.integers(1, 128)),
                          draw(st.integers(1, 256)))
    h = draw(st.integers(1, 32))
    w = draw(st.integers(1, 32))
    return Layer(name="p", ifmap_h=h, ifmap_w=w, filter_h=draw(st.integers(1, min(h, 7))),
                 filter_w=draw(st.integers(1, min(w, 7))), channels=draw(st.integers(1, 16)),
                 num_filters=draw(st.integers(1, 64 if kind == "conv" else 2)),
                 stride_h=draw(st.integers(1, 4)), stride_w=draw(st.integers(1, 4)), kind=kind)


def used_ifmap_words(layer: Layer) -> int:
    """Distinct input words some window reads, all channel groups (marked on a grid)."""
    out_h = math.ceil((layer.ifmap_h - layer.filter_h + layer.stride_h) / layer.stride_h)
    out_w = math.ceil((layer.ifmap_w - layer.filter_w + layer.stride_w) / layer.stride_w)
    read = np.zeros((layer.ifmap_h, layer.ifmap_w), dtype=bool)
    for dy in range(layer.filter_h):
        ys = np.arange(out_h) * layer.stride_h + dy
        ys = ys[ys < layer.ifmap_h]
        for dx in range(layer.filter_w):
            xs = np.arange(out_w) * layer.stride_w + dx
            xs = xs[xs < layer.ifmap_w]
            read[np.ix_(ys, xs)] = True
    return int(read.sum()) * layer.channels  # depthwise: one channel per group, all groups


def test_used_ifmap_words_by_hand():
    # 5 wide, filter 2, stride 3: outputs at 0 and 3 read columns 0,1,3,4 (column 2 skipped).
    layer = Layer(name="x", ifmap_h=1, ifmap_w=5, filter_h=1, filter_w=2, channels=3,
                  num_filters=1, stride_w=3)
    assert used_ifmap_words(layer) == 4 * 3
    # 4 wide, filter 3, stride 2: outputs at 0 and 2 (ceil((4-3+2)/2) = 2) read all 4.
    layer = Layer(name="y", ifmap_h=4, ifmap_w=4, filter_h=3, filter_w=3, channels=1,
                  num_filters=1, stride_h=2, stride_w=2)
    assert used_ifmap_words(layer) == 16


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=moderate_layers(), rows=st.integers(1, 32), cols=st.integers(1, 32),
       dataflow=st.sampled_from(["os", "ws", "is"]),
       kb=st.tuples(*[st.sampled_from([1, 2, 4, 16, 64])] * 3))
def test_layer_properties(layer, rows, cols, dataflow, kb):
    accel = accelerator(rows, cols, dataflow, kb)
    pes = rows * cols
    degenerate = dataflow == "os" and rows == cols == 1  # SCALE-Sim's rows - 1 undercounts
    filter_words = layer.groups * layer.window_size * layer.num_filters
    ifmap_words = used_ifmap_words(layer)
    results = {}
    for compat in (False, True):
        r = simulate_systolic_layer(layer, accel, scalesim_compat=compat)
        results[compat] = r
        where = f"{layer!r} {rows}x{cols} {dataflow} kb={kb} compat={compat}: {r}"
        assert r["macs"] == layer.macs, where
        if rows + cols >= 3:
            assert r["total_cycles"] * pes >= r["macs"], where
        if not degenerate:
            assert 0 < r["overall_util"] <= 100, where
        assert 0 < r["compute_util"] <= 100, where
        assert 0 < r["mapping_eff"] <= 100, where
        # Every word a layer uses comes from DRAM at least once, and never more often than
        # the array asks for it.
        assert ifmap_words <= r["dram_ifmap_reads"] <= r["ifmap_sram_reads"], where
        assert filter_words <= r["dram_filter_reads"] <= r["filter_sram_reads"], where
        # Operands that fit the buffer's first (active-half) window are fetched once.
        if ifmap_words // layer.groups < 50 * (kb[0] * 1024 // 100):
            assert r["dram_ifmap_reads"] == ifmap_words, where
        if filter_words // layer.groups < 50 * (kb[1] * 1024 // 100):
            assert r["dram_filter_reads"] == filter_words, where
        assert r["total_cycles"] >= r["stall_cycles"] >= 0, where
        again = simulate_systolic_layer(layer, accel, scalesim_compat=compat)
        assert again == r, f"second run differs: {again} != {r}"
    plain, compat = results[False], results[True]
    assert plain["dram_ofmap_writes"] == plain["ofmap_sram_writes"]
    assert plain["stall_cycles"] == 0
    # The output words, counted plainly: each row fold writes every output once (WS, IS).
    folds = 1 if dataflow == "os" else plain["row_folds"]
    assert plain["ofmap_sram_writes"] == folds * layer.groups * layer.ofmap_pixels * layer.num_filters
    # compat adds SCALE-Sim's defects (OS write count, drained empty slots), never removes.
    assert compat["ofmap_sram_writes"] >= plain["ofmap_sram_writes"]
    assert compat["dram_ofmap_writes"] >= plain["dram_ofmap_writes"]
    for key in ("macs", "ifmap_sram_reads", "filter_sram_reads", "dram_ifmap_reads",
                "dram_filter_reads", "mapping_eff", "compute_util"):
        assert compat[key] == plain[key], key


LIMIT = 2**31 - 1


@pytest.mark.parametrize("layer, operand", [
    (Layer(name="huge_ifmap", ifmap_h=2**16, ifmap_w=2**15, filter_h=1, filter_w=1, channels=1,
           num_filters=1), "ifmap"),                       # 2**31 words, one past the limit
    (Layer(name="huge_ifmap_ch", ifmap_h=1024, ifmap_w=1024, filter_h=3, filter_w=3,
           channels=4096, num_filters=1), "ifmap"),
    (Layer.gemm("huge_gemm", 2**16, 8, 2**15), "ifmap"),
    (Layer.gemm("huge_weights", 4, 2**15, 2**16), "filter"),
])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_operand_too_large_is_refused(layer, operand, dataflow):
    for compat in (False, True):
        with pytest.raises(InputError) as info:
            simulate_systolic_layer(layer, accelerator(8, 8, dataflow), scalesim_compat=compat)
        assert info.value.field == operand
        assert str(LIMIT) in str(info.value)

