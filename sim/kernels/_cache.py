"""Noticing the kernels' one-off compile: Numba compiles each kernel on its first call and
keeps it in its on-disk cache (``cache=True``), so a run on a cold cache spends ~20 s
compiling before its first layer and later runs load the kernels in milliseconds.

Watching Numba's ``numba:compile`` event, which fires only on a cache miss, tells the two
apart exactly and costs a warm run nothing (no file is looked at, no layer is timed).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from numba.core import event

#: Kernels live in this package's modules; other Numba code in the process is not ours.
_PACKAGE = __name__.rpartition(".")[0]


class _FirstCompile(event.Listener):
    """Calls ``callback`` at the start of the first compile of one of our kernels."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.fired = False

    def on_start(self, ev: event.Event) -> None:
        if self.fired or not _is_kernel(ev.data):
            return
        self.fired = True
        self.callback()

    def on_end(self, ev: event.Event) -> None:
        """Nothing to do: the notice goes out when compiling starts."""


def _is_kernel(data: object) -> bool:
    dispatcher = data.get("dispatcher") if isinstance(data, dict) else None
    module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
    return module == _PACKAGE or module.startswith(_PACKAGE + ".")


@contextmanager
def on_first_compile(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` once, as the first kernel starts compiling inside the block (never
    when every kernel the block calls loads from the cache, or with ``NUMBA_DISABLE_JIT``)."""
    with event.install_listener("numba:compile", _FirstCompile(callback)):
        yield
