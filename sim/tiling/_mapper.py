"""The per-layer mapper: dataflow x tiles x loop order, ranked by exact cost.

Every candidate gets a lower bound of its cost in closed form (``_bounds.py``). Candidates are
then simulated exactly (their tiles' transfers timed by the memory system, stalls included)
in order of their bound, and the search stops when the next bound cannot beat the best exact
cost, or after ``MAX_EXACT`` simulations. With a finite DRAM a few anchors go first whatever
their bound (``_anchors``). So the mapper never returns a mapping worse than one it
simulated; stall-free, the bound is the exact cost and the first candidate wins.
"""
from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from hwloop.arch import MAPPING_ORDERS, Accelerator, Mapping
from hwloop.sim.arrays import layer_bits, packed
from hwloop.sim.memory import time_events
from hwloop.traces import InputError, Layer

from ._bounds import DATAFLOWS, Bounds, bounds, buffer_words, fitting_candidates, kernel_inputs
from ._events import mapped_events
from ._nest import loop_nest
from ._simulate import mapped_layer_row

#: What ``--optimize`` may ask for.
MAPPER_OBJECTIVES = ("latency", "energy", "edp")
#: Most candidates simulated exactly with a finite DRAM (stall-free, the bound is exact).
MAX_EXACT = 32
#: ... and in an exhaustive search (the bound then ends it, in practice).
EXHAUSTIVE_EXACT = 20_000
#: Candidates simulated first with a finite DRAM, whatever their bound: the ones with the
#: fewest tiles (their first blocks load before cycle 0, so they stall least) and with the
#: fewest DRAM words. Where stalls dominate, bounds are loose; these keep the search honest.
ANCHORS = 2


@functools.lru_cache(maxsize=1 << 12)
def _best(layer: Layer, accel: Accelerator, objective: str, exhaustive: bool) -> Mapping:
    narrow = packed(accel, *layer_bits(layer, accel))
    tiles, loops, inputs = _candidates(layer, buffer_words(narrow), narrow.dram.finite,
                                       narrow.array.rows, narrow.array.cols, exhaustive)
    found = bounds(layer, narrow, loops, objective, inputs)
    # each (dataflow, candidate) competes with its best order
    picked = (np.arange(3)[:, None], found.order, np.arange(found.order.shape[1])[None, :])
    flat_bound, flat_energy = found.bound[picked].ravel(), found.energy[picked].ravel()
    order = found.order.ravel()
    budget = EXHAUSTIVE_EXACT if exhaustive else MAX_EXACT
    anchors = (_anchors(found, loops) if narrow.dram.finite
               else np.zeros(0, dtype=np.int64))
    ranked = _ranked(flat_bound, flat_energy, budget)
    ranked = np.ravel_multi_index((*np.unravel_index(ranked, found.order.shape)[:1],
                                   order[ranked],
                                   np.unravel_index(ranked, found.order.shape)[1]),
                                  found.bound.shape)
    best: tuple[float, float] | None = None
    chosen = None
    flat_all = found.bound.flat  # reads a few entries: no copy of the whole array
    for count, index in enumerate(np.concatenate((anchors, ranked[~np.isin(ranked, anchors)]))):
        if count >= anchors.size and best is not None and (
                flat_all[index] >= best[0] * (1 - 1e-12) or count >= budget + anchors.size):
            break
        d, o, c = np.unravel_index(index, found.bound.shape)
        mapping = Mapping(dataflow=DATAFLOWS[d], order=MAPPING_ORDERS[o],
                          **{name: int(value[c]) for name, value in tiles.items()})
        exact = _exact(layer, narrow, mapping, found, (d, o, c), objective)
        if best is None or exact < best:
            best, chosen = exact, mapping
    assert chosen is not None
    return chosen


#: Candidate sets kept per process: a search revisits array shapes and buffer sizes with
#: other bandwidths, energy tables and buffers of the other operands.
CANDIDATES_MEMO_SIZE = 1 << 11


@functools.lru_cache(maxsize=CANDIDATES_MEMO_SIZE)
def _candidates(layer: Layer, words: tuple[int, int, int], finite: bool, rows: int, cols: int,
                exhaustive: bool):
    """(tiles, loops, kernel inputs) of the candidates that fit: they depend on the array, the
    buffers' words and whether the DRAM is finite, nothing else of the accelerator."""
    tiles, loops = fitting_candidates(layer, words, finite, rows, cols, exhaustive)
    return tiles, loops, kernel_inputs(loops)


def _exact(layer: Layer, narrow: Accelerator, mapping: Mapping, found: Bounds,
           at: tuple, objective: str) -> tuple[float, float]:
    """(objective, energy) of one candidate, stalls simulated: its cycles replace the bound's
    in the energy's leakage term (the only one cycles enter)."""
    d, o, c = at
    cycles = found.cycles[at]
    if narrow.dram.finite:
        nest = loop_nest(layer, mapping, narrow.array.dataflow)
        stall = time_events(mapped_events(nest, narrow.array.rows, narrow.array.cols),
                            narrow.dram, history=False).stall_cycles
        cycles = (found.compute[d, c] + stall) * layer.groups
    energy = found.energy[at] + found.cycle_pj[d] * (cycles - found.cycles[at])
    return {"latency": cycles, "energy": energy, "edp": energy * cycles}[objective], energy


def _anchors(found: Bounds, loops) -> np.ndarray:
    """Flat indices (into the bounds, shape (dataflows, orders, candidates)) of the anchors:
    for the ``ANCHORS`` candidates with the fewest tiles, and the ``ANCHORS`` (order,
    candidate) pairs with the fewest DRAM words, the dataflow and order of least bound."""
    bound = found.bound
    dataflows, orders, count = bound.shape
    steps = loops["m"][0] * loops["n"][0] * loops["k"][0]
    few = np.argpartition(steps, ANCHORS)[:ANCHORS] if count > ANCHORS else np.arange(count)
    picked = [np.ravel_multi_index((*np.unravel_index(np.argmin(bound[:, :, c]),
                                                      (dataflows, orders)), c), bound.shape)
              for c in few]
    flat = found.dram.ravel()
    light = (np.argpartition(flat, ANCHORS)[:ANCHORS] if flat.size > ANCHORS
             else np.arange(flat.size))
    for order, c in zip(*np.unravel_index(light, found.dram.shape)):
        picked.append(np.ravel_multi_index((np.argmin(bound[:, order, c]), order, c),
                                           bound.shape))
    return np.unique(np.array(picked, dtype=np.int64))


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
