"""N:M weight sparsity support: whether the array skips the zero weights of a layer's N:M
pattern (SCALE-Sim v3's ``[sparsity] SparsitySupport``), and how the filter is compressed."""
from __future__ import annotations

from dataclasses import dataclass

from hwloop.traces import InputError

#: Filter compressions: SCALE-Sim's blocked ELLPACK (each kept value with its position in its
#: block of M), CSR and CSC (indices and pointers), and a bitmap (one bit per dense weight).
REPRESENTATIONS = ("ellpack_block", "csr", "csc", "bitmap")


@dataclass(frozen=True, kw_only=True)
class Sparsity:
    """``enabled``: honour each layer's N:M ratio (off: every layer runs dense, as SCALE-Sim
    without ``SparsitySupport``); ``representation``: how filters are stored compressed."""

    enabled: bool = False
    representation: str = "ellpack_block"

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise InputError(f"must be true or false, got {self.enabled!r}", field="enabled")
        if self.representation not in REPRESENTATIONS:
            raise InputError(f"unknown representation {self.representation!r}; choose "
                             f"{', '.join(REPRESENTATIONS)}", field="representation")

    def to_dict(self) -> dict:
        return {"enabled": self.enabled, "representation": self.representation}
