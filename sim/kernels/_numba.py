"""Numba settings shared by every kernel: change them here, never inline."""
from __future__ import annotations

import functools

import numba

#: Kernels are integer-only; caching keeps start-up lean after the first run.
JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False}

njit = functools.partial(numba.njit, **JIT_OPTIONS)
njit_inline = functools.partial(numba.njit, inline="always", **JIT_OPTIONS)
