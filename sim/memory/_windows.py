"""SCALE-Sim's read-buffer windows: how many distinct words a buffer takes before it turns over."""
from __future__ import annotations

import functools

from hwloop.arch import Accelerator, Sram
from hwloop.traces import InputError


def resets_on_turnover(sram: Sram) -> bool:
    """Whether the read buffers' active and prefetch parts hold the same number of sets, so a
    window turnover drops every resident word (SCALE-Sim's default split, 0.5)."""
    active = int(round(sram.active_fraction, 2) * 100)
    return active == 100 - active


@functools.lru_cache(maxsize=1024)
def buffer_windows(words: int, active_fraction: float) -> tuple[int, int]:
    """Distinct words a read buffer takes before turning over: (first, later) windows.

    SCALE-Sim splits a buffer into 100 sets of ``floor(words / 100)`` words; the active half
    holds ``int(fraction * 100)`` sets and the prefetch half the rest.
    """
    per_set = words // 100
    active_sets = int(round(active_fraction, 2) * 100)
    return active_sets * per_set, (100 - active_sets) * per_set


def operand_windows(sram: Sram, operand: str) -> tuple[int, int]:
    """(first, later) windows of ``sram``'s ``operand`` buffer."""
    return buffer_windows(sram.words(operand), sram.active_fraction)


def check_buffers(accel: Accelerator) -> None:
    """Refuse buffers whose active half cannot hold one array line of their operand."""
    sram = accel.sram
    lines = {"ifmap": accel.array.rows, "filter": accel.array.cols, "ofmap": accel.array.cols}
    for operand, line in lines.items():
        first, _ = operand_windows(sram, operand)
        if first < line:
            raise InputError(
                f"{operand} buffer of {getattr(sram, operand + '_kb')} KiB holds {first} words in "
                f"its active half, less than one array line of {line} words",
                field=f"{operand}_kb")
