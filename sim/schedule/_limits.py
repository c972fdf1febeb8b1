"""What a layer may be: operands the kernels can index and this machine can hold."""
from __future__ import annotations

import functools
import os

from hwloop.traces import InputError, Layer

#: Largest operand (in words) a kernel may index; beyond it the job would exhaust memory.
MAX_OPERAND_WORDS = 2**31 - 1


@functools.lru_cache(maxsize=1)
def _physical_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0


@functools.lru_cache(maxsize=4096)  # remembers layers that fit; one that does not raises again
def check_layer_fits(layer: Layer) -> None:
    """Refuse layers that cannot run: operands too big to index or to fit in memory."""
    ifmap_words = layer.ifmap_h * layer.ifmap_w * layer.channel_group
    filter_words = layer.window_size * layer.num_filters
    for operand, words in (("ifmap", ifmap_words), ("filter", filter_words)):
        if words > MAX_OPERAND_WORDS:
            raise InputError(f"layer {layer.name!r}: {operand} of {words} words is too large to "
                             f"simulate (limit {MAX_OPERAND_WORDS})", field=operand)
    # Kernels keep one 4-byte mark per operand word and a few bounded fold buffers.
    needed = 4 * max(ifmap_words, filter_words) + 8 * (layer.ofmap_pixels + layer.window_size)
    available = _physical_memory_bytes()
    if available and needed > available // 2:
        raise InputError(f"layer {layer.name!r} needs about {needed / 2**30:.1f} GiB to simulate, "
                         f"more than half of this machine's {available / 2**30:.1f} GiB",
                         field="layer")
