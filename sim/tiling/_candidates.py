"""The mapper's candidate tiles: every tile where a layer is small, a pruned set elsewhere.

A tile only matters through its trip count (DRAM words, halo included, depend on nothing
else) and its tiles' fold shapes (cycles). So per dimension the candidates are, for each
trip count up to a limit and geometrically beyond, the smallest tile with that count (the
easiest to fit), that tile rounded up to the array's rows and to its columns (whole folds),
and powers of two. Where the whole space of tiles is small it is taken whole instead.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

#: Whole tile spaces up to this many points are enumerated exhaustively.
EXHAUSTIVE_POINTS = 4096
#: Trip counts taken one by one; beyond, geometrically.
DENSE_TRIPS = 12


def dimension_values(size: int, aligns: tuple[int, ...], dense: int = DENSE_TRIPS) -> list[int]:
    """Candidate tiles of a dimension of ``size`` (see the module docstring)."""
    trips = set(range(1, min(size, dense) + 1))
    t = float(dense)
    while t < size:
        t *= 1.5
        trips.add(min(size, math.ceil(t)))
    values = set()
    for count in trips:
        tile = -(-size // count)
        values.add(tile)
        for align in aligns:
            values.add(min(size, -(-tile // align) * align))
    power = 1
    while power < size:
        values.add(power)
        power *= 2
    return sorted(values)


def tile_grid(sizes: dict[str, int], aligns: dict[str, tuple[int, ...]],
              dense: int = DENSE_TRIPS) -> dict[str, np.ndarray]:
    """Every combination of candidate tiles, one array per tile field (all of a small space)."""
    whole = math.prod(sizes.values())
    if whole <= EXHAUSTIVE_POINTS:
        lists = [list(range(1, size + 1)) for size in sizes.values()]
    else:
        lists = [dimension_values(size, aligns.get(name, ()), dense)
                 for name, size in sizes.items()]
    grid = np.array(list(itertools.product(*lists)), dtype=np.int64).reshape(-1, len(sizes))
    return {name: grid[:, i] for i, name in enumerate(sizes)}
