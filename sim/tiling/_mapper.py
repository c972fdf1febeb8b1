"""The per-layer mapper: dataflow x tiles x loop order, ranked by exact cost.

Every candidate gets a lower bound of its cost in closed form (NumPy, all at once): its
stall-free cycles, or with a finite DRAM the larger of those and the time each port needs to
move the words it cannot prefetch before cycle 0; energy is linear in the counters. The
candidates are then simulated exactly (``simulate_mapped_layer``, stalls included) in order
of their bound, and the search stops when the next bound cannot beat the best exact cost, or
after ``MAX_EXACT`` simulations. So the mapper never returns a mapping worse than one it
simulated; stall-free, the bound is the exact cost and the first candidate wins.
"""
from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from hwloop.arch import MAPPING_ORDERS, Accelerator, Dataflow, Mapping
from hwloop.sim.arrays import layer_bits, layer_energy, packed
from hwloop.sim.memory import port_bandwidths
from hwloop.sim.schedule import DATAFLOW_CODE
from hwloop.traces import InputError, Layer, LayerKind

from ._candidates import tile_grid
from ._events import MAX_TIMED_STEPS
from ._simulate import mapped_layer_row
from ._vector import compute_arrays, first_tile_words, loop_classes, operand_words, order_visits

#: What ``--optimize`` may ask for.
MAPPER_OBJECTIVES = ("latency", "energy", "edp")
#: Most candidates simulated exactly with a finite DRAM (stall-free, the bound is exact).
MAX_EXACT = 32
_COUNTERS = ("macs", "ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes",
             "ofmap_sram_reads", "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes",
             "dram_ofmap_reads", "total_cycles")
_DATAFLOWS = (Dataflow.OS, Dataflow.WS, Dataflow.IS)


def energy_prices(accel: Accelerator, layer: Layer, dataflow: Dataflow) -> np.ndarray:
    """pJ per unit of each counter of ``_COUNTERS`` (layer energy is linear in them)."""
    w, a = layer_bits(layer, accel)
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


def _fitting(layer: Layer, accel: Accelerator, rows: int, cols: int):
    """Candidate tiles that fit half of every buffer, their loops and the tile counts."""
    aligns: dict[str, tuple[int, ...]] = {name: (rows, cols) for name in ("tile_m", "tile_n", "tile_k")}
    tiles = tile_grid(_sizes(layer), aligns)
    loops = loop_classes(layer, tiles)
    first = first_tile_words(loops)
    ok = np.ones(next(iter(tiles.values())).size, dtype=bool)
    for operand, words in first.items():
        ok &= words <= accel.sram.words(operand) // 2
    steps = loops["m"][0] * loops["n"][0] * loops["k"][0]
    if accel.dram.finite:
        ok &= steps <= MAX_TIMED_STEPS
    if not ok.any():
        raise InputError("no tiling of this layer fits half of each buffer", field="--mapping")
    tiles = {name: value[ok] for name, value in tiles.items()}
    return tiles, loop_classes(layer, tiles)


def _bounds(layer: Layer, accel: Accelerator, loops, objective: str):
    """Lower bounds of the objective, shape (dataflows, orders, candidates)."""
    rows, cols = accel.array.rows, accel.array.cols
    once = operand_words(loops)
    visits = order_visits(loops)  # (orders, 3, candidates)
    dram = np.stack([once["ifmap"] * visits[:, 0], once["filter"] * visits[:, 1],
                     once["ofmap"] * visits[:, 2], once["ofmap"] * (visits[:, 2] - 1)], axis=1)
    pixels, filters, window = layer.gemm_mnk
    macs = pixels * filters * window * layer.groups
    first = first_tile_words(loops)
    port = np.zeros(dram[:, 0].shape)
    if accel.dram.finite:
        bw_i, bw_f, bw_o = port_bandwidths(accel.dram)
        port = np.maximum.reduce([
            (dram[:, 0] - first["ifmap"]) / bw_i, (dram[:, 1] - first["filter"]) / bw_f,
            (dram[:, 2] + dram[:, 3] - 2 * first["ofmap"]) / bw_o])
    cost, energy = [], []
    for dataflow in _DATAFLOWS:
        got = compute_arrays(loops, rows, cols, DATAFLOW_CODE[dataflow])
        cycles = np.maximum(got["cycles"], np.ceil(port)) * layer.groups  # (orders, cands)
        sram_o = got["ofmap_sram"]
        counters = [macs + 0 * cycles, got["ifmap_sram"], got["filter_sram"], sram_o,
                    sram_o - pixels * filters, *(dram[:, i] for i in range(4)), cycles]
        prices = energy_prices(accel, layer, dataflow)
        pj = sum(price * np.broadcast_to(value * (1 if i in (0, 9) else layer.groups), cycles.shape)
                 for i, (price, value) in enumerate(zip(prices, counters)))
        energy.append(pj)
        cost.append({"latency": cycles, "energy": pj, "edp": pj * cycles}[objective])
    return np.array(cost), np.array(energy)


@functools.lru_cache(maxsize=1 << 12)
def _best(layer: Layer, accel: Accelerator, objective: str) -> Mapping:
    narrow = packed(accel, *layer_bits(layer, accel))
    tiles, loops = _fitting(layer, narrow, narrow.array.rows, narrow.array.cols)
    bound, energy = _bounds(layer, narrow, loops, objective)
    flat_bound, flat_energy = bound.ravel(), energy.ravel()
    ranked = np.lexsort((flat_energy, flat_bound))
    best: tuple[float, float] | None = None
    found = None
    shape = bound.shape
    for count, index in enumerate(ranked):
        if best is not None and (flat_bound[index] >= best[0] * (1 - 1e-12)
                                 or count >= MAX_EXACT):
            break
        d, o, c = np.unravel_index(index, shape)
        mapping = Mapping(dataflow=_DATAFLOWS[d], order=MAPPING_ORDERS[o],
                          **{name: int(value[c]) for name, value in tiles.items()})
        row = mapped_layer_row(layer, accel, mapping)
        exact = (objective_of(row, objective), row["energy_pj"])
        if best is None or exact < best:
            best, found = exact, mapping
    assert found is not None
    return found


def objective_of(row: dict, objective: str) -> float:
    """A row's cost under a mapper objective."""
    return {"latency": row["total_cycles"], "energy": row["energy_pj"], "edp": row["edp"]}[objective]


def best_mapping(layer: Layer, accel: Accelerator, objective: str = "latency") -> tuple[Mapping, dict]:
    """The best mapping the mapper finds for ``layer`` on ``accel``, and its report row."""
    if objective not in MAPPER_OBJECTIVES:
        raise InputError(f"must be one of {', '.join(MAPPER_OBJECTIVES)}, got {objective!r}",
                         field="--optimize")
    mapping = _best(replace(layer, name=""), accel, objective)
    return mapping, mapped_layer_row(layer, accel, mapping)
