"""Lower bounds of every candidate mapping's cost, in closed form over NumPy arrays.

A candidate is a tiling (from ``_candidates.py``) under each dataflow and each loop order. Its
bound is its exact stall-free cycles or, with a finite DRAM, the larger of those and the time
each port needs for the words it cannot prefetch before cycle 0. Energy is linear in the
counters (``energy_prices``), so given the cycles it is exact.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hwloop.arch import MAPPING_ORDERS, Accelerator, Dataflow
from hwloop.sim.arrays import layer_bits, layer_energy
from hwloop.sim.kernels import mapping_bounds
from hwloop.sim.memory import port_bandwidths
from hwloop.sim.schedule import DATAFLOW_CODE
from hwloop.traces import InputError, Layer, LayerKind

from ._candidates import derived_values, tile_grid
from ._events import MAX_TIMED_STEPS
from ._vector import (
    compute_arrays,
    first_tile_words,
    loop_classes,
    operand_words,
    order_visits,
)

#: The dataflows a mapping may take, in the order of the bounds' first axis.
DATAFLOWS = (Dataflow.OS, Dataflow.WS, Dataflow.IS)
_COUNTERS = ("macs", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
             "ofmap_sram_reads", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
             "dram_ofmap_reads", "total_cycles")


@dataclass(frozen=True)
class Bounds:
    """Per (dataflow, order, candidate): the objective's bound, the energy and cycles at it;
    per (dataflow, candidate) the stall-free cycles of one channel group; per (order,
    candidate) the DRAM words; per dataflow the pJ of one cycle (leakage)."""

    bound: np.ndarray
    energy: np.ndarray
    cycles: np.ndarray
    compute: np.ndarray
    dram: np.ndarray
    cycle_pj: np.ndarray
    #: Per (dataflow, candidate): the order of least bound (the search ranks only those).
    order: np.ndarray


def energy_prices(accel: Accelerator, layer: Layer, dataflow: Dataflow) -> np.ndarray:
    """pJ per unit of each counter of ``_COUNTERS`` (layer energy is linear in them)."""
    return _prices(accel, *layer_bits(layer, accel), dataflow)


@functools.lru_cache(maxsize=1 << 10)
def _prices(accel: Accelerator, w: int, a: int, dataflow: Dataflow) -> np.ndarray:
    zero = {**dict.fromkeys(_COUNTERS, 0), "weight_bits": w, "act_bits": a,
            "dataflow": dataflow.value}
    base, _ = layer_energy(zero, accel)
    return np.array([layer_energy({**zero, key: 1}, accel)[0] - base for key in _COUNTERS])


def _sizes(layer: Layer) -> dict[str, int]:
    pixels, filters, window = layer.gemm_mnk
    if layer.kind is LayerKind.GEMM:
        return {"tile_m": pixels, "tile_n": filters, "tile_k": window}
    return {"tile_p": layer.ofmap_h, "tile_q": layer.ofmap_w, "tile_c": layer.channel_group,
            "tile_n": filters}


def buffer_words(accel: Accelerator) -> tuple[int, int, int]:
    """Words of the ifmap, filter and ofmap buffers: all of the SRAM the candidates see."""
    return accel.sram.words("ifmap"), accel.sram.words("filter"), accel.sram.words("ofmap")


def fitting_candidates(layer: Layer, words: tuple[int, int, int], finite: bool, rows: int,
                       cols: int, exhaustive: bool):
    """Candidate tiles that fit half of every buffer (``words``: :func:`buffer_words`), and
    their loops; with a ``finite`` DRAM only those whose transfers can be timed."""
    aligns: dict[str, tuple[int, ...]] = {name: (rows, cols)
                                          for name in ("tile_m", "tile_n", "tile_k", "pixels")}
    sizes = _sizes(layer)
    tiles = tile_grid(sizes, aligns, exhaustive=exhaustive, derived="tile_n")
    if tiles["tile_n"].size and (tiles["tile_n"] == sizes["tile_n"]).all() and not exhaustive:
        tiles = _derive_n(layer, words, tiles, (rows, cols))
    loops = loop_classes(layer, tiles)
    ok = np.ones(next(iter(tiles.values())).size, dtype=bool)
    for operand, tile in first_tile_words(loops).items():
        ok &= tile <= words[("ifmap", "filter", "ofmap").index(operand)] // 2
    if finite:
        ok &= loops["m"][0] * loops["n"][0] * loops["k"][0] <= MAX_TIMED_STEPS
    if not ok.any():
        raise InputError("no tiling of this layer fits half of each buffer", field="--mapping")
    return ({name: value[ok] for name, value in tiles.items()},
            {name: (trips[ok], [tuple(part[ok] for part in cls) for cls in classes])
             for name, (trips, classes) in loops.items()})


def _derive_n(layer: Layer, words: tuple[int, int, int], tiles: dict[str, np.ndarray],
              aligns: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The grid with each candidate's filter tiles derived from its other tiles: the largest
    that fits half the filter and ofmap buffers, and its variants."""
    loops = loop_classes(layer, tiles)
    (_, m), (_, k) = loops["m"], loops["k"]
    largest = np.minimum(words[1] // 2 // k[0][1], words[2] // 2 // m[0][1])
    _, filters, _ = layer.gemm_mnk
    values = derived_values(filters, largest, aligns)
    fresh = np.ones(values.shape, dtype=bool)  # a variant equal to an earlier one goes
    for row in range(1, values.shape[0]):
        fresh[row] = (values[row] != values[:row]).all(axis=0)
    out = {name: np.broadcast_to(value, values.shape)[fresh] for name, value in tiles.items()
           if name != "tile_n"}
    out["tile_n"] = values[fresh]
    return out


def bounds_reference(layer: Layer, accel: Accelerator, loops, objective: str) -> Bounds:
    """Every candidate's bound under ``objective`` (``accel`` at the layer's widths), in
    NumPy: the reference of :func:`bounds` (the kernel ``mapping_bounds``)."""
    rows, cols, groups = accel.array.rows, accel.array.cols, layer.groups
    once = operand_words(loops)
    visits = order_visits(loops)  # (orders, 3, candidates)
    dram = [once["ifmap"] * visits[:, 0], once["filter"] * visits[:, 1],
            once["ofmap"] * visits[:, 2], once["ofmap"] * (visits[:, 2] - 1)]
    pixels, filters, window = layer.gemm_mnk
    port = np.zeros(1)
    if accel.dram.finite:
        first = first_tile_words(loops)
        bw_i, bw_f, bw_o = port_bandwidths(accel.dram)
        port = np.ceil(np.maximum.reduce([
            (dram[0] - first["ifmap"]) / bw_i, (dram[1] - first["filter"]) / bw_f,
            (dram[2] + dram[3] - 2 * first["ofmap"]) / bw_o]))
    prices = {dataflow: energy_prices(accel, layer, dataflow) for dataflow in DATAFLOWS}
    # the DRAM side of the energy does not depend on the dataflow
    dram_pj = groups * sum(price * words for price, words in zip(prices[Dataflow.OS][5:9], dram))
    cost, energy, cycles_all, compute = [], [], [], []
    for dataflow in DATAFLOWS:
        price = prices[dataflow]
        got = compute_arrays(loops, rows, cols, DATAFLOW_CODE[dataflow])
        cycles = np.maximum(got["cycles"], port) * groups
        sram_pj = groups * (price[1] * got["ifmap_sram"] + price[2] * got["filter_sram"]
                            + price[3] * got["ofmap_sram"]
                            + price[4] * (got["ofmap_sram"] - pixels * filters))
        pj = (price[0] * pixels * filters * window * groups + sram_pj) + dram_pj + price[9] * cycles
        energy.append(pj)
        cycles = np.broadcast_to(cycles, pj.shape)
        cycles_all.append(cycles)
        compute.append(got["cycles"])
        cost.append({"latency": cycles, "energy": pj, "edp": pj * cycles}[objective])
    cost_all, energy_all = np.array(cost), np.array(energy)
    return Bounds(cost_all, energy_all, np.array(cycles_all), np.array(compute), sum(dram),
                  np.array([prices[d][9] for d in DATAFLOWS]), best_orders(cost_all, energy_all))


def best_orders(cost: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Per (dataflow, candidate), the loop order of least bound, ties to less energy."""
    least = cost.min(axis=1, keepdims=True)
    return np.argmin(np.where(cost <= least * (1 + 1e-12), energy, np.inf), axis=1)


_OBJECTIVE_CODE = {"latency": 0, "energy": 1, "edp": 2}
_ORDERS = np.array([["mnk".index(loop) for loop in order] for order in MAPPING_ORDERS],
                   dtype=np.int64)


def kernel_inputs(loops) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' loops as the kernel ``mapping_bounds`` reads them: ``trips`` (3, N)
    and ``parts`` (3, 3, 4, N), one row per number so that each is copied whole."""
    count = loops["m"][0].size
    trips = np.empty((3, count), dtype=np.int64)
    parts = np.zeros((3, 3, 4, count), dtype=np.int64)  # (count, extent, factor) x loop x class
    for i, name in enumerate("mnk"):
        trips[i] = loops[name][0]
        for j, cls in enumerate(loops[name][1]):
            for part in range(3):
                parts[part, i, j] = cls[part]
    return trips, parts


def bounds(layer: Layer, accel: Accelerator, loops, objective: str,
           inputs: tuple[np.ndarray, np.ndarray] | None = None) -> Bounds:
    """Every candidate's bound under ``objective`` (``accel`` at the layer's widths), by the
    kernel ``mapping_bounds`` (equal to :func:`bounds_reference`); ``inputs`` are
    :func:`kernel_inputs` of ``loops`` when the caller kept them."""
    trips, parts = inputs if inputs is not None else kernel_inputs(loops)
    count = trips.shape[1]
    pixels, filters, window = layer.gemm_mnk
    bws = np.zeros(3, dtype=np.int64)
    if accel.dram.finite:
        bws[:] = port_bandwidths(accel.dram)
    prices = np.array([energy_prices(accel, layer, dataflow) for dataflow in DATAFLOWS])
    bound = np.empty((count, 3, len(MAPPING_ORDERS)))  # candidate-major for the kernel
    energy, cycles = np.empty_like(bound), np.empty_like(bound)
    compute = np.empty((count, 3), dtype=np.int64)
    dram = np.zeros((count, len(MAPPING_ORDERS)), dtype=np.int64)
    best = np.zeros((count, 3), dtype=np.int64)
    mapping_bounds(trips, parts, _ORDERS, accel.array.rows, accel.array.cols, layer.groups,
                   pixels * filters, pixels * filters * window * layer.groups, bws, prices,
                   _OBJECTIVE_CODE[objective], bound, energy, cycles, compute, dram, best)
    last = (1, 2, 0)  # back to (dataflow, order, candidate) views, as the reference gives
    return Bounds(bound.transpose(last), energy.transpose(last), cycles.transpose(last),
                  compute.T, dram.T, prices[:, 9], best.T)
