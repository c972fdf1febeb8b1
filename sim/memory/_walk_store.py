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
from contextvars import ContextVar
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np


class WalkStore(Protocol):
    """Somewhere walks persist: a walk's key (its integers, joined) to the words each of its
    passes fetched (OS and WS walks serve any array width with a prefix of their passes)."""

    def get_walk(self, key: str) -> np.ndarray | None:
        """The stored counts per pass, or None."""

    def put_walk(self, key: str, per_pass: np.ndarray) -> None:
        """Keep counts per pass (a longer walk of the same key replaces a shorter one)."""


#: The store lent to this thread (a Dask worker may run several evaluations at once).
_lent: ContextVar[WalkStore | None] = ContextVar("hwloop_walk_store", default=None)


@contextmanager
def sharing_walks(store: WalkStore | None) -> Iterator[None]:
    """Within the block, walks are looked up in ``store`` (None: this process's memo only)."""
    token = _lent.set(store)
    try:
        yield
    finally:
        _lent.reset(token)


def shared_walk(key: tuple[int, ...], passes: int,
                walk: Callable[[tuple[int, ...], int], np.ndarray]) -> np.ndarray:
    """At least ``passes`` counts per pass of walk ``key``: from the lent store if it holds
    that many, else ``walk(key, passes)`` (then kept in the store)."""
    store = _lent.get()
    if store is None:
        return walk(key, passes)
    text = ",".join(map(str, key))
    found = store.get_walk(text)
    if found is not None and len(found) >= passes:
        return found
    per_pass = walk(key, passes)
    store.put_walk(text, per_pass)
    return per_pass
