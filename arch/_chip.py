"""A chip of several identical cores: each an array with its own SRAM buffers, sharing the
DRAM, joined by an on-chip mesh that reduces partial sums."""
from __future__ import annotations

from dataclasses import dataclass

from hwloop.traces import InputError

from ._limits import MAX_ARRAY_DIM, MAX_BANDWIDTH, check_int, check_number

#: How a layer's GEMM (``M`` pixels x ``N`` filters x ``K`` window) splits over the cores:
#: ``m`` output pixels (each core holds every filter: fetched once and multicast), ``n``
#: filters (every core reads the same ifmap: multicast), ``k`` input channels (partial sums
#: reduced over the mesh), or ``auto``: per layer, the split with the fewest cycles.
PARTITIONS = ("m", "n", "k", "auto")


@dataclass(frozen=True, kw_only=True)
class Chip:
    """``cores`` copies of the accelerator's array and buffers; ``noc_bw`` words per cycle
    per mesh link at ``noc_pj_per_word_hop`` pJ per word and hop (a 45 nm on-chip link of
    about 1 mm: 8-bit words at ~0.1 pJ/bit/mm, Dally et al., "Hardware-enabled artificial
    intelligence", VLSI 2018)."""

    cores: int = 1
    partition: str = "auto"
    noc_bw: int = 16
    noc_pj_per_word_hop: float = 0.8
    #: Rows of the mesh the cores sit on (None: the most nearly square grid).
    mesh_rows: int | None = None

    def __post_init__(self) -> None:
        check_int(self.cores, "cores", high=MAX_ARRAY_DIM)
        if self.partition not in PARTITIONS:
            raise InputError(f"unknown partition {self.partition!r}; choose "
                             f"{', '.join(PARTITIONS)}", field="partition")
        check_int(self.noc_bw, "noc_bw", high=MAX_BANDWIDTH)
        check_number(self.noc_pj_per_word_hop, "noc_pj_per_word_hop", high=1e6)
        if self.mesh_rows is not None:
            check_int(self.mesh_rows, "mesh_rows", high=MAX_ARRAY_DIM)
            if self.cores % self.mesh_rows:
                raise InputError(f"{self.cores} cores do not fill a mesh of {self.mesh_rows} "
                                 "rows", field="mesh_rows")

    @property
    def mesh(self) -> tuple[int, int]:
        """The mesh the cores sit on: ``mesh_rows`` rows, else the most nearly square grid."""
        rows = self.mesh_rows or max(r for r in range(1, int(self.cores ** 0.5) + 1)
                                     if self.cores % r == 0)
        return rows, self.cores // rows

    def to_dict(self) -> dict:
        return {"cores": self.cores, "partition": self.partition, "noc_bw": self.noc_bw,
                "noc_pj_per_word_hop": self.noc_pj_per_word_hop, "mesh_rows": self.mesh_rows}
