"""Plain-Python reference of the vector unit (``hwloop.sim.vector``), cycle by cycle.

Each cycle the read port brings up to ``port_words`` input or parameter words into the
unit, the ALUs complete up to ``lanes * ops_per_lane`` operations, and the write port sends
up to ``port_words`` output words; the three stream independently (the unit is pipelined).
DRAM, when finite, is stepped the same way: after ``latency`` cycles each port moves up to
its bandwidth per cycle (a device model: its peak words per cycle over all traffic). The
row's cycles are the last cycle anything moves; its stall is what DRAM adds past the unit.
"""
from __future__ import annotations


def stream_cycles(amounts: list[int], rates: list[float]) -> int:
    """Cycles until every stream ``i`` has moved ``amounts[i]`` at ``rates[i]`` per cycle."""
    left = list(amounts)
    cycles = 0
    while any(v > 0 for v in left):
        cycles += 1
        for i, rate in enumerate(rates):
            left[i] -= min(left[i], rate)
    return cycles


def vector_row(ops: int, reads: int, writes: int, lanes: int, ops_per_lane: int,
               port_words: int, dram: tuple[list[int], list[float], int] | None) -> tuple[int, int]:
    """(total cycles, stall cycles): ``dram`` is (words per port, words per cycle per port,
    latency), or None for unlimited DRAM."""
    busy = stream_cycles([ops, reads, writes], [lanes * ops_per_lane, port_words, port_words])
    if dram is None:
        return busy, 0
    words, rates, latency = dram
    moving = [(w, r) for w, r in zip(words, rates) if r is not None]
    transfer = latency + stream_cycles([w for w, _ in moving], [r for _, r in moving])
    total = max(busy, transfer)
    return total, total - busy
