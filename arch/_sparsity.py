"""N:M weight sparsity support: whether the array skips the zero weights of a layer's N:M
pattern (SCALE-Sim v3's ``[sparsity] SparsitySupport``), how the filter is compressed, and
SCALE-Sim's row-wise mode (``OptimizedMapping``)."""
from __future__ import annotations

from dataclasses import dataclass

from hwloop.traces import InputError

#: Filter compressions: SCALE-Sim's blocked ELLPACK (each kept value with its position in its
#: block of M), CSR and CSC (indices and pointers), and a bitmap (one bit per dense weight).
REPRESENTATIONS = ("ellpack_block", "csr", "csc", "bitmap")
#: SCALE-Sim's ``np.random.seed`` takes seeds below 2**32.
MAX_SEED = 2**32 - 1


@dataclass(frozen=True, kw_only=True)
class Sparsity:
    """``enabled``: honour each layer's N:M ratio (off: every layer runs dense, as SCALE-Sim
    without ``SparsitySupport``); ``representation``: how filters are stored compressed.

    ``row_wise`` (SCALE-Sim's ``OptimizedMapping``; needs ``enabled``): every layer's filter
    columns get their own N, drawn at random in ``1 .. block_size // 2`` from ``seed``
    (SCALE-Sim's ``BlockSize`` and ``RandomNumberGeneratorSeed``); the layers' own ratios
    are ignored (see ``docs/sparsity.md``)."""

    enabled: bool = False
    representation: str = "ellpack_block"
    row_wise: bool = False
    block_size: int = 8
    seed: int = 40

    def __post_init__(self) -> None:
        for name in ("enabled", "row_wise"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"must be true or false, got {getattr(self, name)!r}",
                                 field=name)
        if self.representation not in REPRESENTATIONS:
            raise InputError(f"unknown representation {self.representation!r}; choose "
                             f"{', '.join(REPRESENTATIONS)}", field="representation")
        for name, low, high in (("block_size", 2, 1 << 16), ("seed", 0, MAX_SEED)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(f"must be an integer in {low}..{high}, got {value!r}",
                                 field=name)
        if self.row_wise and not self.enabled:
            raise InputError("row-wise N:M needs sparsity support on (enabled = true, "
                             "--sparse)", field="row_wise")

    def to_dict(self) -> dict:
        """Plain values; the row-wise keys only when row-wise is on (older keys hold)."""
        plain = {"enabled": self.enabled, "representation": self.representation}
        if self.row_wise:
            plain.update(row_wise=True, block_size=self.block_size, seed=self.seed)
        return plain
