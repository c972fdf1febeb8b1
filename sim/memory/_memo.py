"""A least-recently-used memo bounded by the bytes its values hold, not by their number.

Walk results range from a few bytes to a few hundred KiB (block rows of a small buffer turned
over many times): a count bound is either too small for a design space or unsafe for memory.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class BytesLRU:
    """Values with a size in bytes; the least recently used go once the sizes pass ``budget``."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> Any:
        """The value kept for ``key`` (now the most recently used), or None."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._entries[key] = (value, nbytes)
        self._bytes += nbytes
        while self._bytes > self.budget and len(self._entries) > 1:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
