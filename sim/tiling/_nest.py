"""A layer under an explicit mapping: its DRAM-level loop nest, tile by tile.

Per channel group a layer is the GEMM ``M x K`` (ifmap) by ``K x N`` (filter). The mapping cuts
each of the three loops m, n and k into tiles (the last one of a loop may be smaller) and
orders the loops, outermost first.

Convolutions are tiled in their own terms, not im2col's: ``tile_p`` ofmap rows by ``tile_q``
ofmap columns make one m tile (the m loop runs over p tiles, q tiles inside), ``tile_c``
input channels of a channel group make one k tile (``filter_h x filter_w x tile_c`` of the
window), and ``tile_n`` filters one n tile. An ifmap tile is the input rectangle its windows
span, halo included (``(p - 1) * stride + span`` rows, clipped to the input), times its
channels: neighbouring tiles fetch their shared halo twice, no word is im2col-duplicated.
The pure-Python reference is ``tests/naive_mapping.py``.

A loop's tiles fall into at most two classes (full, and the smaller last one); a conv's m
loop into four. Every count is a sum over class combinations, never over tiles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from hwloop.arch import Dataflow, Mapping
from hwloop.traces import InputError, Layer, LayerKind

#: The tile fields each kind of layer takes.
GEMM_TILES = ("tile_m", "tile_n", "tile_k")
CONV_TILES = ("tile_p", "tile_q", "tile_c", "tile_n")


@dataclass(frozen=True)
class TileClass:
    """Tiles of one loop that are alike: how many, their GEMM extent, and the factor they
    bring to their ifmap tile's words (m: pixels or the halo rectangle; k: window or
    channels; n: 1)."""

    count: int
    extent: int
    ifmap_factor: int


@dataclass(frozen=True)
class Loop:
    """One DRAM-level tile loop."""

    name: str
    trips: int
    classes: tuple[TileClass, ...]
    #: Tile indices of the m loop of a conv: q tiles per p tile (1 for other loops).
    inner_trips: int = 1


@dataclass(frozen=True)
class LoopNest:
    """One channel group of ``layer`` under a resolved mapping."""

    layer: Layer
    dataflow: Dataflow
    order: str  #: a permutation of "mnk", outermost first
    tiles: tuple[tuple[str, int], ...]  #: the resolved tile fields, clipped to their dimension
    loops: dict[str, Loop]

    @property
    def steps(self) -> int:
        """Tiles run, per channel group."""
        return math.prod(loop.trips for loop in self.loops.values())

    def mapping(self) -> Mapping:
        """The mapping as resolved (every tile explicit)."""
        return Mapping(dataflow=self.dataflow, order=self.order, **dict(self.tiles))


def resolve_tiles(layer: Layer, mapping: Mapping) -> dict[str, int]:
    """The mapping's tiles for ``layer``: missing ones span their dimension, larger ones are
    clipped. A tile field of the other kind of layer is an error (field: its name)."""
    conv = layer.kind is not LayerKind.GEMM
    wanted, other = (CONV_TILES, ("tile_m", "tile_k")) if conv else (GEMM_TILES, CONV_TILES[:3])
    for name in other:
        if getattr(mapping, name) is not None:
            kind = "conv" if conv else "GEMM"
            raise InputError(f"a {kind} layer is tiled by {', '.join(wanted)}", field=name)
    dims = _dims(layer)
    return {name: min(getattr(mapping, name) or dims[name], dims[name]) for name in wanted}


def _dims(layer: Layer) -> dict[str, int]:
    pixels, filters, window = layer.gemm_mnk
    if layer.kind is LayerKind.GEMM:
        return {"tile_m": pixels, "tile_n": filters, "tile_k": window}
    return {"tile_p": layer.ofmap_h, "tile_q": layer.ofmap_w, "tile_c": layer.channel_group,
            "tile_n": filters}


def loop_nest(layer: Layer, mapping: Mapping, dataflow: Dataflow) -> LoopNest:
    """``layer`` under ``mapping`` (``dataflow`` stands in for a mapping without one)."""
    tiles = resolve_tiles(layer, mapping)
    _, filters, _ = layer.gemm_mnk
    loops = {"n": _gemm_loop("n", filters, tiles["tile_n"], unit=1)}
    if layer.kind is LayerKind.GEMM:
        _, _, window = layer.gemm_mnk
        loops["m"] = _gemm_loop("m", layer.gemm_mnk[0], tiles["tile_m"])
        loops["k"] = _gemm_loop("k", window, tiles["tile_k"])
    else:
        loops["m"] = _conv_pixel_loop(layer, tiles["tile_p"], tiles["tile_q"])
        taps = layer.filter_h * layer.filter_w
        loops["k"] = Loop("k", *_split(layer.channel_group, tiles["tile_c"],
                                       lambda c: TileClass(0, taps * c, c)))
    return LoopNest(layer, mapping.dataflow or dataflow, mapping.order,
                    tuple(sorted(tiles.items())), loops)


def _split(size: int, tile: int, make) -> tuple[int, tuple[TileClass, ...]]:
    """(trips, classes) of ``size`` cut into tiles of ``tile``; ``make(extent)`` builds a
    class whose count is then set."""
    trips = -(-size // tile)
    edge = size - (trips - 1) * tile
    sizes = [(trips, tile)] if edge == tile else [(trips - 1, tile), (1, edge)]
    classes = []
    for count, extent in sizes:
        cls = make(extent)
        classes.append(TileClass(count, cls.extent, cls.ifmap_factor))
    return trips, tuple(classes)


def _gemm_loop(name: str, size: int, tile: int, unit: int | None = None) -> Loop:
    return Loop(name, *_split(size, tile, lambda e: TileClass(0, e, unit or e)))


def _span(out_tile: int, start: int, stride: int, span: int, limit: int) -> int:
    """Input extent the windows of ``out_tile`` outputs from output ``start`` cover."""
    first = start * stride
    return min(limit, (start + out_tile - 1) * stride + span) - first


def _conv_pixel_loop(layer: Layer, tile_p: int, tile_q: int) -> Loop:
    """The m loop of a conv: p tiles, q tiles inside; classes by (p class, q class)."""
    rows = _axis(layer.ofmap_h, tile_p, layer.stride_h, layer.span_h, layer.ifmap_h)
    cols = _axis(layer.ofmap_w, tile_q, layer.stride_w, layer.span_w, layer.ifmap_w)
    classes: dict[tuple[int, int], list[int]] = {}
    for count_p, p, in_rows in rows:
        for count_q, q, in_cols in cols:
            key = (p * q, in_rows * in_cols)
            classes.setdefault(key, [0])[0] += count_p * count_q
    merged = tuple(TileClass(count[0], extent, factor)
                   for (extent, factor), count in classes.items())
    trips_q = -(-layer.ofmap_w // tile_q)
    return Loop("m", -(-layer.ofmap_h // tile_p) * trips_q, merged, inner_trips=trips_q)


def _axis(outputs: int, tile: int, stride: int, span: int, limit: int) -> list[tuple[int, int, int]]:
    """(count, outputs, input extent) classes of one spatial axis. Interior tiles of a full
    size span alike; the last tile (smaller, or clipped by the input's end) is its own."""
    trips = -(-outputs // tile)
    found: dict[tuple[int, int], int] = {}
    for index in (0, trips - 1) if trips > 1 else (0,):
        out = min(tile, outputs - index * tile)
        key = (out, _span(out, index * tile, stride, span, limit))
        found[key] = found.get(key, 0) + (trips - 1 if index == 0 and trips > 1 else 1)
    return [(count, out, extent) for (out, extent), count in found.items()]


def axis_tiles(outputs: int, tile: int, stride: int, span: int, limit: int) -> list[tuple[int, int]]:
    """(outputs, input extent) of every tile of one spatial axis, in order (events need them)."""
    return [(min(tile, outputs - i * tile),
             _span(min(tile, outputs - i * tile), i * tile, stride, span, limit))
            for i in range(-(-outputs // tile))]
