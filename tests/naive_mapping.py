"""A slow, literal reading of the explicit-mapping model: tiling and loop order.

Only the tests use it, to hold the fast mapping model to. Everything here is plain Python
that walks the DRAM-level loop nest one step at a time.

A layer is, per channel group, a GEMM (``layer.gemm_mnk``). A mapping gives tile sizes and
the order of the three DRAM-level tile loops (a permutation of ``"mnk"``, outermost first).
Exactly one tile per operand is resident on chip; an operand's tile is fetched from DRAM
whenever the step's tile index for that operand differs from the resident one's. The ofmap
tile is written out when it is replaced (and at the end), and read back when it returns
holding partial sums. Each step's cycles and SRAM counts are the classic engine's, stall-free,
for that step's tile GEMM alone. All counts are per group, then multiplied by
``layer.groups``.
"""
from __future__ import annotations

import functools
import itertools

from hwloop.arch import Accelerator, Dram, SystolicArray
from hwloop.sim import simulate_layer
from hwloop.traces import Layer, LayerKind

GEMM_TILE_KEYS = ("tile_m", "tile_n", "tile_k")
CONV_TILE_KEYS = ("tile_p", "tile_q", "tile_c", "tile_n")

#: Which loops each operand's tile depends on.
DEPENDS_ON = {"ifmap": ("m", "k"), "filter": ("k", "n"), "ofmap": ("m", "n")}

#: The tile-GEMM counters summed over the loop nest.
SRAM_KEYS = ("ifmap_sram_reads", "filter_sram_reads", "ofmap_sram_writes")


def naive_mapped(layer: Layer, tiles: dict[str, int], order: str, dataflow: str,
                 rows: int, cols: int) -> dict:
    """Counts of ``layer`` run under the mapping (``tiles``, ``order``, ``dataflow``) on a
    ``rows x cols`` systolic array with unlimited DRAM bandwidth.

    Keys: ``dram_ifmap_reads``, ``dram_filter_reads``, ``dram_ofmap_writes``,
    ``dram_ofmap_reads``, ``total_cycles``, ``ifmap_sram_reads``, ``filter_sram_reads``,
    ``ofmap_sram_writes`` (all for the whole layer, every group) and ``steps`` (loop-nest
    steps of one group).
    """
    steps = naive_tile_steps(layer, tiles, order)
    per_group = {"dram_ifmap_reads": 0, "dram_filter_reads": 0, "dram_ofmap_writes": 0,
                 "dram_ofmap_reads": 0, "total_cycles": 0}
    for key in SRAM_KEYS:
        per_group[key] = 0
    for step in steps:
        per_group["dram_ifmap_reads"] += step["dram_ifmap_reads"]
        per_group["dram_filter_reads"] += step["dram_filter_reads"]
        per_group["dram_ofmap_reads"] += step["dram_ofmap_reads"]
        per_group["dram_ofmap_writes"] += step["dram_ofmap_writes"]
        per_group["dram_ofmap_writes"] += step["dram_ofmap_writes_at_end"]
        row = tile_row(step["m"], step["n"], step["k"], dataflow, rows, cols,
                       layer.weight_bits, layer.act_bits)
        per_group["total_cycles"] += row["total_cycles"]
        for key in SRAM_KEYS:
            per_group[key] += row[key]
    result = {key: value * layer.groups for key, value in per_group.items()}
    result["steps"] = len(steps)
    return result


def naive_tile_steps(layer: Layer, tiles: dict[str, int], order: str) -> list[dict]:
    """One dict per loop-nest step of one group, in execution order.

    Each has ``index`` (the step's loop indices, a dict ``{"m": i, "n": j, "k": l}``),
    ``m``/``n``/``k`` (the tile's GEMM dimensions), the DRAM words fetched at that step
    (``dram_ifmap_reads``, ``dram_filter_reads``, ``dram_ofmap_reads`` for a partial-sum
    read-back), ``dram_ofmap_writes`` (the previous ofmap tile's words written out just
    before this step) and ``dram_ofmap_writes_at_end`` (the resident ofmap tile written out
    after the last step: nonzero only on the last step).
    """
    if sorted(order) != ["k", "m", "n"]:
        raise ValueError(f"order must be a permutation of 'mnk', got {order!r}")
    loops = _loop_tiles(layer, tiles)  # loop name -> list of that loop's tiles

    steps = []
    resident = {"ifmap": None, "filter": None, "ofmap": None}  # tile index per operand
    ofmap_seen = set()
    resident_ofmap_words = 0
    # nested loops in the given order, outermost first (itertools.product varies the last
    # loop fastest, as a nest does)
    ranges = [range(len(loops[name])) for name in order]
    for indices in itertools.product(*ranges):
        index = dict(zip(order, indices))
        tile = {name: loops[name][index[name]] for name in "mnk"}
        words = _tile_words(layer, tile["m"], tile["n"], tile["k"])
        m, n, k = _tile_gemm(layer, tile["m"], tile["n"], tile["k"])
        step = {"index": index, "m": m, "n": n, "k": k,
                "dram_ifmap_reads": 0, "dram_filter_reads": 0, "dram_ofmap_reads": 0,
                "dram_ofmap_writes": 0, "dram_ofmap_writes_at_end": 0}

        for operand in ("ifmap", "filter"):
            key = tuple(index[name] for name in DEPENDS_ON[operand])
            if key != resident[operand]:
                resident[operand] = key
                step[f"dram_{operand}_reads"] = words[operand]

        key = tuple(index[name] for name in DEPENDS_ON["ofmap"])
        if key != resident["ofmap"]:
            if resident["ofmap"] is not None:
                step["dram_ofmap_writes"] = resident_ofmap_words
            if key in ofmap_seen:  # it holds partial sums: read them back
                step["dram_ofmap_reads"] = words["ofmap"]
            resident["ofmap"] = key
            resident_ofmap_words = words["ofmap"]
            ofmap_seen.add(key)

        steps.append(step)

    steps[-1]["dram_ofmap_writes_at_end"] = resident_ofmap_words
    return steps


@functools.lru_cache(maxsize=None)
def tile_row(m: int, n: int, k: int, dataflow: str, rows: int, cols: int,
             weight_bits: int | None = None, act_bits: int | None = None) -> dict:
    """The classic engine's row for one ``m x k`` by ``k x n`` tile GEMM alone, stall-free
    (memoised by tile shape)."""
    accel = Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow),
                        dram=Dram())
    tile_layer = Layer.gemm("tile", m, n, k, weight_bits=weight_bits, act_bits=act_bits)
    return simulate_layer(tile_layer, accel)


def tile_ranges(total: int, tile: int) -> list[tuple[int, int]]:
    """``[0, total)`` cut into ``[lo, hi)`` pieces of ``tile`` (the last one may be
    smaller); ``tile`` is clipped to ``total``."""
    tile = min(tile, total)
    return [(lo, min(lo + tile, total)) for lo in range(0, total, tile)]


def _tile_size(tiles: dict[str, int], key: str, total: int) -> int:
    """The tile size for one dimension: the whole dimension when missing, clipped to it."""
    value = tiles.get(key, total)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{key} must be a positive integer, got {value!r}")
    return min(value, total)


def _loop_tiles(layer: Layer, tiles: dict[str, int]) -> dict[str, list]:
    """Each loop's tiles, in loop order.

    GEMM: ``m``, ``n`` and ``k`` tiles are ``(lo, hi)`` ranges of M, N and K. Conv and
    depthwise: an ``m`` tile is a pair of ranges (ofmap rows, ofmap columns), p-tile outer,
    q-tile inner; ``k`` tiles are channel ranges; ``n`` tiles are filter ranges.
    """
    if layer.kind is LayerKind.GEMM:
        allowed = GEMM_TILE_KEYS
    else:
        allowed = CONV_TILE_KEYS
    unknown = set(tiles) - set(allowed)
    if unknown:
        raise ValueError(f"unknown tile keys for a {layer.kind.value} layer: {sorted(unknown)}")

    if layer.kind is LayerKind.GEMM:
        big_m, big_n, big_k = layer.gemm_mnk
        return {"m": tile_ranges(big_m, _tile_size(tiles, "tile_m", big_m)),
                "n": tile_ranges(big_n, _tile_size(tiles, "tile_n", big_n)),
                "k": tile_ranges(big_k, _tile_size(tiles, "tile_k", big_k))}

    p_tiles = tile_ranges(layer.ofmap_h, _tile_size(tiles, "tile_p", layer.ofmap_h))
    q_tiles = tile_ranges(layer.ofmap_w, _tile_size(tiles, "tile_q", layer.ofmap_w))
    m_tiles = []
    for p_range in p_tiles:
        for q_range in q_tiles:
            m_tiles.append((p_range, q_range))
    channels = layer.channel_group
    filters = layer.num_filters
    return {"m": m_tiles,
            "n": tile_ranges(filters, _tile_size(tiles, "tile_n", filters)),
            "k": tile_ranges(channels, _tile_size(tiles, "tile_c", channels))}


def _tile_gemm(layer: Layer, m_tile, n_tile, k_tile) -> tuple[int, int, int]:
    """The tile's GEMM dimensions (m, n, k)."""
    n0, n1 = n_tile
    if layer.kind is LayerKind.GEMM:
        m0, m1 = m_tile
        k0, k1 = k_tile
        return m1 - m0, n1 - n0, k1 - k0
    (p0, p1), (q0, q1) = m_tile
    c0, c1 = k_tile
    return (p1 - p0) * (q1 - q0), n1 - n0, layer.filter_h * layer.filter_w * (c1 - c0)


def _tile_words(layer: Layer, m_tile, n_tile, k_tile) -> dict[str, int]:
    """DRAM words of the step's ifmap, filter and ofmap tiles."""
    n0, n1 = n_tile
    if layer.kind is LayerKind.GEMM:
        m0, m1 = m_tile
        k0, k1 = k_tile
        return {"ifmap": (m1 - m0) * (k1 - k0), "filter": (k1 - k0) * (n1 - n0),
                "ofmap": (m1 - m0) * (n1 - n0)}
    (p0, p1), (q0, q1) = m_tile
    c0, c1 = k_tile
    in_rows = input_span(p0, p1, layer.stride_h, layer.span_h, layer.ifmap_h)
    in_cols = input_span(q0, q1, layer.stride_w, layer.span_w, layer.ifmap_w)
    return {"ifmap": in_rows * in_cols * (c1 - c0),
            "filter": layer.filter_h * layer.filter_w * (c1 - c0) * (n1 - n0),
            "ofmap": (p1 - p0) * (q1 - q0) * (n1 - n0)}


def input_span(o0: int, o1: int, stride: int, span: int, size: int) -> int:
    """Input rows (or columns) the windows of outputs ``[o0, o1)`` cover, halo included:
    ``[o0 * stride, min(size, (o1 - 1) * stride + span))``."""
    lo = o0 * stride
    hi = min(size, (o1 - 1) * stride + span)
    assert hi > lo
    return hi - lo
