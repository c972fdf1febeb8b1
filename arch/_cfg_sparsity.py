"""SCALE-Sim's ``[sparsity]`` section of a ``.cfg``, read as SCALE-Sim 3.0.0 reads it."""
from __future__ import annotations

import configparser
from typing import Callable

from hwloop.traces import InputError

from ._sparsity import REPRESENTATIONS, Sparsity


def cfg_sparsity(parser: configparser.ConfigParser, source: str,
                 line_of: Callable[[str], int | None]) -> Sparsity | None:
    """SCALE-Sim's ``[sparsity]``, read as SCALE-Sim reads it: ``SparsitySupport`` (true
    turns the layers' N:M ratios on) and ``SparseRep``; with support on,
    ``OptimizedMapping = true`` is SCALE-Sim's row-wise N:M, which then needs ``BlockSize``
    and ``RandomNumberGeneratorSeed``."""
    sect = "sparsity"
    if not parser.has_option(sect, "SparsitySupport"):
        return None

    def fail(key: str, reason: str) -> InputError:
        return InputError(reason, source=source, line=line_of(key), field=key)

    support = parser.get(sect, "SparsitySupport").strip().lower()
    if support not in ("true", "false"):
        raise fail("SparsitySupport", f"must be true or false, got {support!r}")
    if support == "false":
        return None
    rep = parser.get(sect, "SparseRep", fallback="ellpack_block").strip()
    if rep not in REPRESENTATIONS:
        raise fail("SparseRep", f"unknown representation {rep!r}; choose "
                                f"{', '.join(REPRESENTATIONS)}")
    if parser.get(sect, "OptimizedMapping", fallback="false").strip().lower() != "true":
        return Sparsity(enabled=True, representation=rep)
    numbers = {}
    for key, name in (("BlockSize", "block_size"), ("RandomNumberGeneratorSeed", "seed")):
        if not parser.has_option(sect, key):
            raise fail("OptimizedMapping", f"row-wise N:M needs {key} in [sparsity]")
        text = parser.get(sect, key).strip()
        try:
            numbers[name] = int(text)
        except ValueError:
            raise fail(key, f"must be an integer, got {text!r}") from None
    try:
        return Sparsity(enabled=True, representation=rep, row_wise=True, **numbers)
    except InputError as exc:
        key = {"block_size": "BlockSize", "seed": "RandomNumberGeneratorSeed"}[exc.field or "seed"]
        raise fail(key, exc.reason) from None
