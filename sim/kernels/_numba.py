"""Numba settings shared by every kernel: change them here, never inline."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

#: Kernels are integer-only; caching keeps start-up lean after the first run.
JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False}

#: Typed loosely: a kernel is called with arrays and scalars that Numba, not mypy, checks.
njit: Callable[..., Any] = functools.partial(numba.njit, **JIT_OPTIONS)
njit_inline: Callable[..., Any] = functools.partial(numba.njit, inline="always", **JIT_OPTIONS)

#: Wraps a constant passed from one kernel to another. Numba types a bare constant as a
#: literal and compiles the callee once more for each literal it meets; ``as_int(0)`` is a
#: plain int64, so every call shares one compiled callee (a shorter first compile).
as_int = np.int64
