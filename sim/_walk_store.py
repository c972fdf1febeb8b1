"""Buffer walks shared beyond one process: a store lent to the simulator for a while.

An ifmap buffer walk (``_systolic._walked_ifmap_fetches``) is a pure function of a few
integers, and many design points of a search share one (every filter and ofmap buffer with the
same array, dataflow and ifmap buffer). Each process keeps its own memo; a store lent with
:func:`sharing_walks` also answers walks that *another* process (a search worker) or an earlier
run already did, so a space's walks are done once, not once per worker. The search oracle
lends its SQLite store (``search/_oracle.py``).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class WalkStore(Protocol):
    """Somewhere walk results persist: a walk's key (its integers) to the words it fetched."""

    def get_walk(self, key: str) -> int | None:
        """The stored count, or None."""

    def put_walk(self, key: str, fetched: int) -> None:
        """Keep a count (a key stored twice holds the same count both times)."""


_lent: WalkStore | None = None


@contextmanager
def sharing_walks(store: WalkStore | None) -> Iterator[None]:
    """Within the block, walks are looked up in ``store`` (None: this process's memo only)."""
    global _lent
    previous, _lent = _lent, store
    try:
        yield
    finally:
        _lent = previous


def shared_walk(args: tuple[int, ...], walk: Callable[..., int]) -> int:
    """``walk(*args)``, or the count the lent store already holds for ``args``."""
    store = _lent
    if store is None:
        return walk(*args)
    key = ",".join(map(str, args))
    found = store.get_walk(key)
    if found is not None:
        return found
    fetched = walk(*args)
    store.put_walk(key, fetched)
    return fetched
