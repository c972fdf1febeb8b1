"""Numba settings shared by every kernel: change them here, never inline."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numba

#: Kernels are integer-only; caching keeps start-up lean after the first run.
JIT_OPTIONS = {"cache": True, "nogil": True, "fastmath": False}

#: Typed loosely: a kernel is called with arrays and scalars that Numba, not mypy, checks.
njit: Callable[..., Any] = functools.partial(numba.njit, **JIT_OPTIONS)
njit_inline: Callable[..., Any] = functools.partial(numba.njit, inline="always", **JIT_OPTIONS)
