"""The mapper's candidate tiles: every tile where a layer is small, a pruned set elsewhere.

A tile only matters through its trip count (DRAM words, halo included, depend on nothing
else) and its tiles' fold shapes (cycles). So per dimension the candidates are, for each
trip count up to a limit and geometrically beyond, the smallest tile with that count (the
easiest to fit), that tile rounded up to the array's rows and to its columns (whole folds),
and powers of two. Where the whole space of tiles is small it is taken whole instead.
"""
from __future__ import annotations

import functools
import math

import numpy as np

#: Whole tile spaces up to this many points are enumerated exhaustively.
EXHAUSTIVE_POINTS = 4096
#: Trip counts taken one by one; beyond, geometrically.
DENSE_TRIPS = 6


def _trip_counts(size: int, dense: int) -> set[int]:
    trips = set(range(1, min(size, dense) + 1))
    t = float(dense)
    while t < size:
        t *= 1.5
        trips.add(min(size, math.ceil(t)))
    return trips


#: Tiles scanned per trip count for one whose tiles hold whole folds.
_SCAN = 16


def _aligned(size: int, trips: int, unit: int, align: int) -> set[int]:
    """Within the tiles giving ``trips`` trips (smallest first): the first whose full tiles,
    and the first whose last tile, hold a whole number of ``align`` (``unit`` per element)."""
    low = -(-size // trips)
    high = size if trips == 1 else -(-size // (trips - 1)) - 1
    found: set[int] = set()
    full = edge = False
    for tile in range(low, min(high, low + _SCAN) + 1):
        last = size - (trips - 1) * tile
        if not full and tile * unit % align == 0:
            found.add(tile)
            full = True
        if not edge and last * unit % align == 0:
            found.add(tile)
            edge = True
    return found


def dimension_values(size: int, aligns: tuple[int, ...], dense: int = DENSE_TRIPS,
                     unit: int = 1) -> list[int]:
    """Candidate tiles of a dimension of ``size`` (see the module docstring); ``unit`` is
    what one element of this dimension counts in the aligned dimension (a conv's tile_q
    pixels per ofmap row)."""
    values = set()
    for count in _trip_counts(size, dense):
        values.add(-(-size // count))
        for align in aligns:
            values |= _aligned(size, count, unit, align)
    power = 1
    while power < size:
        values.add(power)
        power *= 2
    return sorted(values)


def pixel_tiles(outputs_h: int, outputs_w: int, aligns: tuple[int, ...],
                dense: int = DENSE_TRIPS) -> list[tuple[int, ...]]:
    """Candidate (tile_p, tile_q) of a conv: per tile_q, the tile_p whose tiles hold whole
    folds of pixels (``tile_p x tile_q`` a multiple of the array's rows or columns)."""
    return sorted({(p, q) for q in dimension_values(outputs_w, (), dense)
                   for p in dimension_values(outputs_h, aligns, dense, unit=q)})


def tile_grid(sizes: dict[str, int], aligns: dict[str, tuple[int, ...]],
              dense: int = DENSE_TRIPS, exhaustive: bool = False,
              derived: str | None = None) -> dict[str, np.ndarray]:
    """Every combination of candidate tiles (see :func:`_tile_grid`); the same sizes and
    array give the same grid, so a search that revisits an array shape builds it once."""
    grid = _tile_grid(tuple(sizes.items()), tuple(sorted(aligns.items())), dense, exhaustive,
                      derived)
    return dict(grid)


@functools.lru_cache(maxsize=256)
def _tile_grid(size_items: tuple, align_items: tuple, dense: int, exhaustive: bool,
               derived: str | None) -> tuple[tuple[str, np.ndarray], ...]:
    """Every combination of candidate tiles, one array per tile field (all of a small space,
    or of any space if ``exhaustive``). A conv's pixel tiles come in pairs. The ``derived``
    field is left out of a pruned grid (set to its whole dimension): the caller derives it
    from the others (:func:`derived_values`)."""
    sizes, aligns = dict(size_items), dict(align_items)
    whole = math.prod(sizes.values())
    lists: list[list[tuple[int, ...]]]
    if exhaustive or whole <= EXHAUSTIVE_POINTS:
        lists = [[(v,) for v in range(1, size + 1)] for size in sizes.values()]
        names = list(sizes)
    else:
        names = [name for name in sizes if name not in ("tile_p", "tile_q", derived)]
        lists = [[(v,) for v in dimension_values(sizes[name], aligns.get(name, ()), dense)]
                 for name in names]
        if "tile_p" in sizes:
            lists.insert(0, pixel_tiles(sizes["tile_p"], sizes["tile_q"],
                                        aligns.get("pixels", ()), dense))
            names.insert(0, "tile_q")
            names.insert(0, "tile_p")
        if derived is not None:
            lists.append([(sizes[derived],)])
            names.append(derived)
    arrays = [np.array(values, dtype=np.int64).reshape(len(values), -1) for values in lists]
    index = np.indices([len(values) for values in lists]).reshape(len(lists), -1)
    columns = np.concatenate([part[at] for part, at in zip(arrays, index)], axis=1)
    out = []
    for i, name in enumerate(names):
        column = np.ascontiguousarray(columns[:, i])
        column.flags.writeable = False  # shared by every caller of the memo
        out.append((name, column))
    return tuple(out)


def derived_values(size: int, largest: np.ndarray, aligns: tuple[int, ...]) -> np.ndarray:
    """Candidates of a dimension derived from the others, shape (variants, candidates): the
    largest tile that fits (``largest``, at most ``size``), balanced tiles at its trip count
    and at one and two trips more, and the largest multiples of each of ``aligns`` below it
    (whole folds). A larger tile never costs more DRAM words, so much smaller ones need not
    be tried."""
    top = np.clip(largest, 1, size)
    trips = -(-size // top)
    # balanced tiles at the fewest trips, and at one and two more (smaller tiles overlap
    # their transfers better when the DRAM is slow)
    variants = [top, *(-(-size // np.minimum(trips + extra, size)) for extra in range(3))]
    for align in aligns:
        variants.append(np.where(top >= align, top // align * align, top))
    return np.array(variants)
