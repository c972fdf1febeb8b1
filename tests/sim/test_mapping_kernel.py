"""The mapper's bounds kernel equals its NumPy reference on every candidate."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hwloop.arch import Dram, Sram, SystolicArray
from hwloop.arch.presets import SCALESIM_DEFAULT
from hwloop.sim.arrays import layer_bits, packed
from hwloop.sim.tiling._bounds import bounds, bounds_reference, fitting_candidates
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
    _, loops = fitting_candidates(layer, accel, 8, 4, False)
    fast, slow = bounds(layer, accel, loops, objective), bounds_reference(layer, accel, loops,
                                                                          objective)
    assert np.array_equal(fast.compute, slow.compute)
    assert np.array_equal(fast.dram, slow.dram)
    assert np.array_equal(fast.cycles, slow.cycles)
    np.testing.assert_allclose(fast.energy, slow.energy, rtol=1e-12)
    np.testing.assert_allclose(fast.bound, slow.bound, rtol=1e-12)
    assert np.array_equal(fast.cycle_pj, slow.cycle_pj)
