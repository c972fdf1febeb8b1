"""The closed forms of ``_costs.py`` over many candidate tilings at once (NumPy arrays).

``tests/sim/test_mappings.py`` holds them equal, candidate by candidate, to the scalar forms
that ``simulate`` uses.
"""
from __future__ import annotations

import numpy as np

from hwloop.arch import MAPPING_ORDERS
from hwloop.sim.schedule import tile_sums
from hwloop.traces import Layer, LayerKind

from ._costs import DEPENDS


def _classes(size: int, tile: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """(trips, [(count, extent)] for the full tiles and the last one)."""
    trips = -(-size // tile)
    return trips, [(trips - 1, tile), (np.ones_like(tile), size - (trips - 1) * tile)]


def _halo(outputs: int, tile, stride: int, span: int, limit: int):
    """(trips, [(count, outputs, input extent)]) of one spatial axis of a conv."""
    trips = -(-outputs // tile)
    full_in = np.minimum(limit, (tile - 1) * stride + span)
    start = (trips - 1) * tile
    last = outputs - start
    last_in = np.minimum(limit, (start + last - 1) * stride + span) - start * stride
    return trips, [(trips - 1, tile, full_in), (np.ones_like(tile), last, last_in)]


def loop_classes(layer: Layer, tiles: dict[str, np.ndarray]):
    """Per loop: (trips, [(count, GEMM extent, ifmap factor)])."""
    pixels, filters, window = layer.gemm_mnk
    trips_n, n = _classes(filters, tiles["tile_n"])
    out = {"n": (trips_n, [(c, e, e) for c, e in n])}
    if layer.kind is LayerKind.GEMM:
        for name, size in (("m", pixels), ("k", window)):
            trips, classes = _classes(size, tiles[f"tile_{name}"])
            out[name] = (trips, [(c, e, e) for c, e in classes])
        return out
    tp, rows = _halo(layer.ofmap_h, tiles["tile_p"], layer.stride_h, layer.span_h, layer.ifmap_h)
    tq, cols = _halo(layer.ofmap_w, tiles["tile_q"], layer.stride_w, layer.span_w, layer.ifmap_w)
    out["m"] = (tp * tq, [(cp * cq, p * q, ip * iq) for cp, p, ip in rows for cq, q, iq in cols])
    taps = layer.filter_h * layer.filter_w
    trips_c, chans = _classes(layer.channel_group, tiles["tile_c"])
    out["k"] = (trips_c, [(c, taps * e, e) for c, e in chans])
    return out


def first_tile_words(loops) -> dict[str, np.ndarray]:
    """Words of each operand's first (largest) tile."""
    (_, m), (_, n), (_, k) = (loops[name] for name in "mnk")
    return {"ifmap": m[0][2] * k[0][2], "filter": k[0][1] * n[0][1], "ofmap": m[0][1] * n[0][1]}


def operand_words(loops) -> dict[str, np.ndarray]:
    """Each operand's words summed once over its distinct tiles."""
    (_, m), (_, n), (_, k) = (loops[name] for name in "mnk")
    return {"ifmap": sum(a[0] * b[0] * a[2] * b[2] for a in m for b in k),
            "filter": sum(a[0] * b[0] * a[1] * b[1] for a in k for b in n),
            "ofmap": sum(a[0] * b[0] * a[1] * b[1] for a in m for b in n)}


def order_visits(loops) -> np.ndarray:
    """Visits of each operand's tiles, shape (orders, 3 operands, candidates)."""
    trips = {name: loops[name][0] for name in "mnk"}
    out = []
    for order in MAPPING_ORDERS:
        per_operand = []
        for operand in ("ifmap", "filter", "ofmap"):
            depends = DEPENDS[operand]
            # loops outside the innermost live dependent loop, that the operand ignores
            factor = np.ones_like(trips["m"])
            inner_seen = np.zeros(trips["m"].shape, dtype=bool)
            for loop in reversed(order):  # innermost first
                live = trips[loop] > 1
                if loop in depends:
                    inner_seen |= live
                else:
                    factor = factor * np.where(inner_seen, trips[loop], 1)
            per_operand.append(factor)
        out.append(per_operand)
    return np.array(out)


def compute_arrays(loops, rows: int, cols: int, code: int) -> dict[str, np.ndarray]:
    """Cycles and SRAM traffic summed over the tiles, per candidate, for one dataflow (the
    schedule's separable sums over each loop's tile classes)."""
    m, n, k = ([(cls[0], cls[1]) for cls in loops[name][1]] for name in "mnk")
    return tile_sums(m, n, k, rows, cols, code)
