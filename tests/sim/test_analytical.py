"""hwloop's analytical model (``sim/analytical/_model.py``) against the cycle-level engine.

Stall-free, its compute cycles are the engine's closed form, so they must equal the engine's
``total_cycles`` exactly; with finite bandwidth its latency is never below them; one batched
call equals the pairs one at a time and a plain-Python reference of the closed forms; its
energy is the engine's energy formula applied to its counters.
"""
from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from hwloop.arch import Accelerator, Dram, Sram, SystolicArray, get_preset
from hwloop.sim import fold_plan, simulate
from hwloop.sim.analytical import COLUMNS, INPUTS, analytical_arrays, analytical_model, analytical_pairs
from hwloop.sim.arrays import layer_energy
from hwloop.traces import InputError, Layer, LayerKind


def _random_layer(rng: random.Random, index: int) -> Layer:
    kind = rng.choice(["conv", "conv", "depthwise", "gemm"])
    if kind == "gemm":
        return Layer.gemm(f"g{index}", m=rng.randint(1, 90), n=rng.randint(1, 90),
                          k=rng.randint(1, 90))
    fh, fw = rng.randint(1, 5), rng.randint(1, 5)
    return Layer(name=f"l{index}", ifmap_h=rng.randint(fh, 24), ifmap_w=rng.randint(fw, 24),
                 filter_h=fh, filter_w=fw, channels=rng.randint(1, 12),
                 num_filters=rng.randint(1, 40), stride_h=rng.randint(1, 3),
                 stride_w=rng.randint(1, 3),
                 kind=LayerKind.DEPTHWISE if kind == "depthwise" else LayerKind.CONV)


def _random_accel(rng: random.Random, bandwidth: int | None = None) -> Accelerator:
    return Accelerator(array=SystolicArray(rows=rng.choice([2, 4, 8, 16, 32]),
                                           cols=rng.choice([2, 4, 8, 16, 32]),
                                           dataflow=rng.choice(["os", "ws", "is"])),
                       sram=Sram(ifmap_kb=rng.choice([1, 4, 16]), filter_kb=rng.choice([1, 4, 16]),
                                 ofmap_kb=rng.choice([1, 4, 16])),
                       dram=Dram(bandwidth=bandwidth,
                                 latency_cycles=rng.choice([0, 5]) if bandwidth else 0))


@pytest.fixture(scope="module")
def pairs():
    rng = random.Random(8)
    return [(_random_layer(rng, i), _random_accel(rng)) for i in range(150)]


def test_stall_free_compute_equals_simulated_total_cycles(pairs):
    est = analytical_pairs([lyr for lyr, _ in pairs], [a for _, a in pairs])
    for i, (layer, accel) in enumerate(pairs):
        row = simulate(layer, accel).layers.iloc[0]
        assert est["compute_cycles"][i] == row["total_cycles"], (layer, accel.array)
        assert est["total_cycles"][i] == row["total_cycles"]  # unlimited DRAM: no memory term
        assert est["macs"][i] == row["macs"]
        for column in ("ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
                       "dram_ofmap_writes"):
            assert est[column][i] == row[column], column


def test_finite_bandwidth_latency_is_at_least_compute():
    rng = random.Random(3)
    layers = [_random_layer(rng, i) for i in range(120)]
    accels = [_random_accel(rng, bandwidth=rng.choice([1, 2, 8, 64])) for _ in layers]
    est = analytical_pairs(layers, accels)
    assert np.all(est["total_cycles"] >= est["compute_cycles"])
    assert np.all(est["memory_cycles"] >= 0) and np.any(est["memory_cycles"] > 0)
    for layer, accel in list(zip(layers, accels))[:20]:  # and above the engine's compute too
        stall_free = simulate(layer, replace(accel, dram=Dram())).totals["total_cycles"]
        assert analytical_model(layer, accel)["total_cycles"].iloc[0] >= stall_free


def _reference(layer: Layer, accel: Accelerator) -> dict:
    """Plain Python: the engine's closed forms for compute cycles and SRAM traffic."""
    plan = fold_plan(layer, accel.array.rows, accel.array.cols, accel.array.dataflow)
    pixels, filters, window = layer.gemm_mnk
    df = accel.array.dataflow.value
    ifmap = plan.col_folds * pixels * window if df in ("os", "ws") else window * pixels
    return {"compute_cycles": layer.groups * (plan.folds * plan.rows_per_fold - 1),
            "ifmap_sram_reads": layer.groups * ifmap,
            "macs": layer.macs}


def test_vectorised_equals_scalar(pairs):
    layers, accels = [lyr for lyr, _ in pairs], [a for _, a in pairs]
    rng = random.Random(5)
    accels = [replace(a, dram=Dram(bandwidth=rng.choice([None, 2, 16]), latency_cycles=3))
              for a in accels]
    batch = analytical_pairs(layers, accels)
    for i, (layer, accel) in enumerate(zip(layers, accels)):
        one = analytical_pairs([layer], [accel])
        for column in COLUMNS:
            assert one[column][0] == pytest.approx(batch[column][i], rel=1e-12), column
        for column, value in _reference(layer, accel).items():
            assert batch[column][i] == value, column


def test_broadcast_over_layers_and_arrays():
    """A (layers x 1) by (1 x arrays) call scores every pair, as the pairs one by one do."""
    layer_inputs = {"ifmap_h": np.array([[56], [14], [7]]), "ifmap_w": np.array([[56], [14], [7]]),
                    "filter_h": 3, "filter_w": 3, "channel_group": np.array([[64], [256], [512]]),
                    "num_filters": np.array([[64], [256], [512]]), "stride_h": 1, "stride_w": 1,
                    "groups": 1}
    hw = {"rows": np.array([[8, 32, 128]]), "cols": np.array([[8, 32, 128]]),
          "dataflow": np.array([[0, 1, 2]]), "ifmap_words": 65536, "filter_words": 65536,
          "ofmap_words": 65536, "active_fraction": 0.5, "ifmap_bw": 8.0, "filter_bw": 8.0,
          "ofmap_bw": np.inf, "latency": 0}
    grid = analytical_arrays(**layer_inputs, **hw)
    assert grid["total_cycles"].shape == (3, 3)
    for i in range(3):
        for j in range(3):
            one = analytical_arrays(**{k: (v[i, 0] if isinstance(v, np.ndarray) else v)
                                       for k, v in layer_inputs.items()},
                                    **{k: (v[0, j] if isinstance(v, np.ndarray) else v)
                                       for k, v in hw.items()})
            assert one["total_cycles"] == grid["total_cycles"][i, j]
    with pytest.raises(TypeError, match="missing"):
        analytical_arrays(**{k: 1 for k in INPUTS[:-1]})


def test_energy_is_the_engine_formula_on_the_model_counters(pairs):
    for layer, accel in pairs[:30]:
        est = analytical_model(layer, accel).iloc[0]
        row = {key: int(est[key]) for key in ("macs", "ifmap_sram_reads", "filter_sram_reads",
                                              "ofmap_sram_writes", "dram_ifmap_reads",
                                              "dram_filter_reads", "dram_ofmap_writes",
                                              "total_cycles")}
        row.update(weight_bits=8, act_bits=8)
        assert est["energy_pj"] == pytest.approx(layer_energy(row, accel)[0], rel=1e-9)


def test_network_frame_and_prefetch_option():
    net_accel = get_preset("scalesim_default").with_overrides(bandwidth=4, dram_latency=10)
    layer = Layer(name="c", ifmap_h=30, ifmap_w=30, filter_h=3, filter_w=3, channels=64,
                  num_filters=64)
    plain = analytical_model(layer, net_accel)
    with_prefetch = analytical_model(layer, net_accel, include_prefetch=True)
    assert list(plain.columns) == ["name", *COLUMNS]
    head = plain["prefetch_cycles"].iloc[0]
    assert head > 0
    assert with_prefetch["total_cycles"].iloc[0] == plain["total_cycles"].iloc[0] + head
    # the engine reports the same prefetch apart from total_cycles
    sim = simulate(layer, net_accel).layers.iloc[0]
    assert sim["prefetch_cycles"] == pytest.approx(head, rel=0.05)


def test_dram_traffic_estimate_is_close_on_resnet_shapes():
    """Not exact (the engine walks the buffer), but within 25% on average per operand."""
    from hwloop.traces import builtin_network

    net = builtin_network("resnet18")
    base = get_preset("scalesim_default")
    errors = []
    for df in ("os", "ws", "is"):
        accel = base.with_overrides(dataflow=df)
        est = analytical_model(net, accel)
        sim = simulate(net, accel).layers
        for column in ("dram_ifmap_reads", "dram_filter_reads"):
            errors.extend(abs(est[column] - sim[column]) / sim[column].clip(lower=1))
    assert float(np.mean(errors)) < 0.25


def test_unsupported_hardware_is_an_input_error():
    layer = Layer.gemm("g", m=8, n=8, k=8)
    with pytest.raises(InputError, match="systolic"):
        analytical_model(layer, get_preset("scalesim_default").with_overrides(array_kind="bitfusion"))
    with pytest.raises(InputError, match="device model"):
        analytical_model(layer, get_preset("scalesim_default").with_overrides(dram_model="ddr4-3200"))
    assert math.isfinite(float(analytical_model(layer, get_preset("scalesim_default"))
                               ["energy_pj"].iloc[0]))
