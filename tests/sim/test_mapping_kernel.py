"""The mapper's kernels (bounds, tile events) equal their NumPy references."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwloop.arch import Dram, Mapping, Sram, SystolicArray
from hwloop.arch.presets import SCALESIM_DEFAULT
from hwloop.sim.arrays import layer_bits, packed
from hwloop.sim.tiling import loop_nest, mapped_events
from hwloop.sim.tiling._bounds import (
    bounds,
    bounds_reference,
    buffer_words,
    fitting_candidates,
)
from hwloop.sim.tiling._events import mapped_events_reference
from hwloop.traces import Layer

LAYERS = [
    Layer.gemm("g", 100, 70, 90),
    Layer(name="c", ifmap_h=20, ifmap_w=18, filter_h=3, filter_w=3, channels=16,
          num_filters=24, stride_h=2),
    Layer(name="dw", ifmap_h=14, ifmap_w=14, filter_h=3, filter_w=3, channels=8,
          num_filters=1, kind="depthwise"),
    Layer(name="dil", ifmap_h=15, ifmap_w=11, filter_h=3, filter_w=2, channels=5,
          num_filters=9, dilation_h=2, conv_groups=5),
]
DRAMS = [Dram(), Dram(bandwidth=3), Dram(ifmap_bandwidth=2, ofmap_bandwidth=5, latency_cycles=7)]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
@pytest.mark.parametrize("dram", DRAMS, ids=("stall-free", "bw3", "ports"))
@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_kernel_bounds_equal_the_reference(layer, dram, objective):
    accel = dataclasses.replace(SCALESIM_DEFAULT, array=SystolicArray(rows=8, cols=4),
                                sram=Sram(ifmap_kb=2, filter_kb=2, ofmap_kb=2), dram=dram)
    accel = packed(accel, *layer_bits(layer, accel))
    _, loops = fitting_candidates(layer, buffer_words(accel), accel.dram.finite, 8, 4, False)
    fast, slow = bounds(layer, accel, loops, objective), bounds_reference(layer, accel, loops,
                                                                          objective)
    assert np.array_equal(fast.compute, slow.compute)
    assert np.array_equal(fast.dram, slow.dram)
    assert np.array_equal(fast.cycles, slow.cycles)
    np.testing.assert_allclose(fast.energy, slow.energy, rtol=1e-12)
    np.testing.assert_allclose(fast.bound, slow.bound, rtol=1e-12)
    assert np.array_equal(fast.cycle_pj, slow.cycle_pj)
    picked = (np.arange(3)[:, None], fast.order, np.arange(fast.order.shape[1])[None, :])
    np.testing.assert_allclose(fast.bound[picked], slow.bound.min(axis=1), rtol=1e-12)


MAPPINGS = [Mapping(dataflow="ws", tile_m=13, tile_n=9, tile_k=20, order="kmn"),
            Mapping(dataflow="os", tile_p=3, tile_q=5, tile_c=5, tile_n=7, order="nkm"),
            Mapping(dataflow="is", tile_p=4, tile_q=7, tile_n=1, order="knm"),
            Mapping(dataflow="os", tile_p=2, tile_q=3, tile_c=1, tile_n=4, order="mkn")]


@pytest.mark.parametrize("layer, mapping", list(zip(LAYERS, MAPPINGS)),
                         ids=lambda value: getattr(value, "name", None) or value.describe())
@pytest.mark.parametrize("order", ["mnk", "mkn", "nmk", "nkm", "kmn", "knm"])
def test_kernel_events_equal_the_reference(layer, mapping, order):
    nest = loop_nest(layer, dataclasses.replace(mapping, order=order), mapping.dataflow)
    fast, slow = mapped_events(nest, 8, 4), mapped_events_reference(nest, 8, 4)
    assert fast.last_row == slow.last_row
    for stream in ("ifmap", "filter", "ofmap", "psum"):
        a, b = getattr(fast, stream), getattr(slow, stream)
        for name, value in vars(a).items():
            if value is not None:
                assert np.array_equal(value, getattr(b, name)), (stream, name)
