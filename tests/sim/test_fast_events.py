"""Memory events without streaming the demand equal the streamed ones, block for block.

``_fast_events.fast_events`` walks the read buffers on bitsets (recording each block's first
demand row) and cuts the ofmap halves in closed form; ``memory.collect_layer_events``
streams every demand row of SCALE-Sim's matrices through the buffers (itself held to the
plain-Python model in ``tests/naive_memory.py``).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Sram, SystolicArray
from hwloop.sim.memory import check_buffers, collect_layer_events, fast_events
from hwloop.sim.schedule import array_schedule
from hwloop.traces import InputError, Layer, builtin_network


def _same(layer, accel):
    want = collect_layer_events(array_schedule(layer, accel.array), accel.sram)
    got = fast_events(array_schedule(layer, accel.array), accel.sram)
    assert got.last_row == want.last_row
    for name in ("ifmap", "filter"):
        a, b = getattr(got, name), getattr(want, name)
        np.testing.assert_array_equal(a.need_row, b.need_row, err_msg=f"{name} need rows")
        np.testing.assert_array_equal(a.words, b.words, err_msg=f"{name} words")
    for field in ("start_row", "fill_row", "words"):
        np.testing.assert_array_equal(getattr(got.ofmap, field), getattr(want.ofmap, field),
                                      err_msg=f"ofmap {field}")


@st.composite
def cases(draw):
    kind = draw(st.sampled_from(["conv", "conv", "depthwise", "gemm"]))
    if kind == "gemm":
        layer = Layer.gemm("g", draw(st.integers(1, 60)), draw(st.integers(1, 40)),
                           draw(st.integers(1, 60)))
    else:
        h, w = draw(st.integers(2, 12)), draw(st.integers(2, 12))
        layer = Layer(name="c", ifmap_h=h, ifmap_w=w, filter_h=draw(st.integers(1, min(h, 4))),
                      filter_w=draw(st.integers(1, min(w, 4))),
                      channels=draw(st.sampled_from([1, 2, 3, 5, 16, 40, 70])),
                      num_filters=draw(st.integers(1, 24)), stride_h=draw(st.integers(1, 3)),
                      stride_w=draw(st.integers(1, 3)), kind=kind)
        if kind == "depthwise":
            layer = replace(layer, num_filters=layer.channels)
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
        if (dilation[0] * (layer.filter_h - 1) < layer.ifmap_h
                and dilation[1] * (layer.filter_w - 1) < layer.ifmap_w):
            layer = replace(layer, dilation_h=dilation[0], dilation_w=dilation[1])
    array = SystolicArray(rows=draw(st.integers(1, 12)), cols=draw(st.integers(1, 12)),
                          dataflow=draw(st.sampled_from(["os", "ws", "is"])))
    sram = Sram(ifmap_kb=draw(st.sampled_from([1, 2])), filter_kb=draw(st.sampled_from([1, 2])),
                ofmap_kb=draw(st.sampled_from([1, 2])))
    return layer, Accelerator(array=array, sram=sram)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_layers(case):
    layer, accel = case
    try:
        check_buffers(accel)
    except InputError:  # a buffer too small for one array line: the layer cannot run
        return
    _same(layer, accel)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_resnet18_layers(dataflow):
    accel = Accelerator(array=SystolicArray(rows=16, cols=32, dataflow=dataflow),
                        sram=Sram(ifmap_kb=16, filter_kb=32, ofmap_kb=8))
    seen = set()
    for layer in builtin_network("resnet18").layers[:8]:
        shape = replace(layer, name="")
        if shape not in seen:
            seen.add(shape)
            _same(shape, accel)
