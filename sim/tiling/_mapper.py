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

from ._candidates import derived_values, tile_grid
from ._events import MAX_TIMED_STEPS
from ._simulate import mapped_layer_row
from ._vector import compute_arrays, first_tile_words, loop_classes, operand_words, order_visits

#: What ``--optimize`` may ask for.
MAPPER_OBJECTIVES = ("latency", "energy", "edp")
#: Most candidates simulated exactly with a finite DRAM (stall-free, the bound is exact).
MAX_EXACT = 32
#: ... and in an exhaustive search (the bound then ends it, in practice).
EXHAUSTIVE_EXACT = 20_000
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


def _fitting(layer: Layer, accel: Accelerator, rows: int, cols: int, exhaustive: bool):
    """Candidate tiles that fit half of every buffer, and their loops."""
    aligns: dict[str, tuple[int, ...]] = {name: (rows, cols)
                                          for name in ("tile_m", "tile_n", "tile_k", "pixels")}
    sizes = _sizes(layer)
    tiles = tile_grid(sizes, aligns, exhaustive=exhaustive, derived="tile_n")
    if tiles["tile_n"].size and (tiles["tile_n"] == sizes["tile_n"]).all() and not exhaustive:
        tiles = _derive_n(layer, accel, tiles, (rows, cols))
    loops = loop_classes(layer, tiles)
    ok = np.ones(next(iter(tiles.values())).size, dtype=bool)
    for operand, words in first_tile_words(loops).items():
        ok &= words <= accel.sram.words(operand) // 2
    if accel.dram.finite:
        ok &= loops["m"][0] * loops["n"][0] * loops["k"][0] <= MAX_TIMED_STEPS
    if not ok.any():
        raise InputError("no tiling of this layer fits half of each buffer", field="--mapping")
    return ({name: value[ok] for name, value in tiles.items()},
            {name: (trips[ok], [tuple(part[ok] for part in cls) for cls in classes])
             for name, (trips, classes) in loops.items()})


def _derive_n(layer: Layer, accel: Accelerator, tiles: dict[str, np.ndarray],
              aligns: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The grid with each candidate's filter tiles derived from its other tiles: the largest
    that fits half the filter and ofmap buffers, and its variants."""
    loops = loop_classes(layer, tiles)
    (_, m), (_, k) = loops["m"], loops["k"]
    largest = np.minimum(accel.sram.words("filter") // 2 // k[0][1],
                         accel.sram.words("ofmap") // 2 // m[0][1])
    _, filters, _ = layer.gemm_mnk
    values = derived_values(filters, largest, aligns)
    fresh = np.ones(values.shape, dtype=bool)  # a variant equal to an earlier one goes
    for row in range(1, values.shape[0]):
        fresh[row] = (values[row] != values[:row]).all(axis=0)
    out = {name: np.broadcast_to(value, values.shape)[fresh] for name, value in tiles.items()
           if name != "tile_n"}
    out["tile_n"] = values[fresh]
    return out


def _bounds(layer: Layer, accel: Accelerator, loops, objective: str):
    """Lower bounds of the objective and energies, shape (dataflows, orders, candidates)."""
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
    prices = {dataflow: energy_prices(accel, layer, dataflow) for dataflow in _DATAFLOWS}
    # the DRAM side of the energy does not depend on the dataflow
    dram_pj = groups * sum(price * words for price, words in zip(prices[Dataflow.OS][5:9], dram))
    cost, energy = [], []
    for dataflow in _DATAFLOWS:
        price = prices[dataflow]
        got = compute_arrays(loops, rows, cols, DATAFLOW_CODE[dataflow])
        cycles = np.maximum(got["cycles"], port) * groups
        sram_pj = groups * (price[1] * got["ifmap_sram"] + price[2] * got["filter_sram"]
                            + price[3] * got["ofmap_sram"]
                            + price[4] * (got["ofmap_sram"] - pixels * filters))
        pj = (price[0] * pixels * filters * window * groups + sram_pj) + dram_pj + price[9] * cycles
        energy.append(pj)
        cost.append({"latency": np.broadcast_to(cycles, pj.shape), "energy": pj,
                     "edp": pj * cycles}[objective])
    return np.array(cost), np.array(energy), sum(dram)


@functools.lru_cache(maxsize=1 << 12)
def _best(layer: Layer, accel: Accelerator, objective: str, exhaustive: bool) -> Mapping:
    narrow = packed(accel, *layer_bits(layer, accel))
    tiles, loops = _fitting(layer, narrow, narrow.array.rows, narrow.array.cols, exhaustive)
    bound, energy, dram = _bounds(layer, narrow, loops, objective)
    flat_bound, flat_energy = bound.ravel(), energy.ravel()
    budget = EXHAUSTIVE_EXACT if exhaustive else MAX_EXACT
    anchors = _anchors(bound, loops, dram) if narrow.dram.finite else np.zeros(0, dtype=np.int64)
    ranked = _ranked(flat_bound, flat_energy, budget)
    best: tuple[float, float] | None = None
    found = None
    shape = bound.shape
    for count, index in enumerate(np.concatenate((anchors, ranked[~np.isin(ranked, anchors)]))):
        if count >= anchors.size and best is not None and (
                flat_bound[index] >= best[0] * (1 - 1e-12) or count >= budget + anchors.size):
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


#: Candidates simulated first with a finite DRAM, whatever their bound: the ones with the
#: fewest tiles (their first blocks load before cycle 0, so they stall least) and with the
#: fewest DRAM words. Where stalls dominate, bounds are loose; these keep the search honest.
ANCHORS = 4


def _anchors(bound: np.ndarray, loops, dram: np.ndarray) -> np.ndarray:
    """Flat indices (into ``bound``, shape (dataflows, orders, candidates)) of the anchors:
    for the ``ANCHORS`` candidates with the fewest tiles, and the ``ANCHORS`` (order,
    candidate) pairs with the fewest DRAM words, the dataflow and order of least bound."""
    dataflows, orders, count = bound.shape
    steps = loops["m"][0] * loops["n"][0] * loops["k"][0]
    few = np.argpartition(steps, ANCHORS)[:ANCHORS] if count > ANCHORS else np.arange(count)
    found = [np.ravel_multi_index((*np.unravel_index(np.argmin(bound[:, :, c]), (dataflows, orders)), c),
                                  bound.shape) for c in few]
    flat = dram.ravel()
    light = np.argpartition(flat, ANCHORS)[:ANCHORS] if flat.size > ANCHORS else np.arange(flat.size)
    for order, c in zip(*np.unravel_index(light, dram.shape)):
        found.append(np.ravel_multi_index((np.argmin(bound[:, order, c]), order, c), bound.shape))
    return np.unique(np.array(found, dtype=np.int64))


def _ranked(bound: np.ndarray, energy: np.ndarray, budget: int) -> np.ndarray:
    """Indices of the ``budget`` lowest bounds, lowest first (ties: less energy first)."""
    if bound.size > budget:
        top = np.argpartition(bound, budget)[:budget]
        # every candidate tied with the last one kept competes on energy
        tied = np.flatnonzero(bound <= bound[top].max())
        top = tied if tied.size <= 64 * budget else top
    else:
        top = np.arange(bound.size)
    return top[np.lexsort((energy[top], bound[top]))]


def objective_of(row: dict, objective: str) -> float:
    """A row's cost under a mapper objective."""
    return {"latency": row["total_cycles"], "energy": row["energy_pj"], "edp": row["edp"]}[objective]


def best_mapping(layer: Layer, accel: Accelerator, objective: str = "latency", *,
                 exhaustive: bool = False) -> tuple[Mapping, dict]:
    """The best mapping the mapper finds for ``layer`` on ``accel``, and its report row.

    ``exhaustive`` takes every tile size of every dimension (slow; for measuring the pruned
    search's gap, ``benchmarks/mapper_gap.py``)."""
    if objective not in MAPPER_OBJECTIVES:
        raise InputError(f"must be one of {', '.join(MAPPER_OBJECTIVES)}, got {objective!r}",
                         field="--optimize")
    mapping = _best(replace(layer, name=""), accel, objective, exhaustive)
    return mapping, mapped_layer_row(layer, accel, mapping)
