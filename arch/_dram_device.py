"""DRAM devices: channels, banks and row buffers, for the event-driven memory model.

A :class:`DramDevice` only describes the part (geometry, data rate, core timings in ns, how a
byte address is cut into channel, bank, row and column). ``hwloop.sim`` times transfers on
it; see ``sim/memory/_dram_device_model.py`` for what the timing model does with these numbers.
Presets cite the JEDEC standard each number comes from.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

from hwloop.traces import InputError

from ._limits import MAX_DRAM_DEVICE_INT, MAX_PHYSICAL, check_number
from ._systolic import _check_positive_int

#: Address fields a mapping string may name, and which of them it must name.
MAPPING_FIELDS = ("row", "rank", "bankgroup", "bank", "channel", "column")
_REQUIRED_FIELDS = ("row", "bank", "column")


def exact(value: float | int | Fraction) -> Fraction:
    """``value`` as the exact decimal it was written as (``0.7`` is 7/10, not a binary float)."""
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


def ns_to_cycles(ns: float | Fraction, clock_ghz: float) -> int:
    """Whole accelerator cycles covering ``ns`` nanoseconds at ``clock_ghz`` (rounded up)."""
    return math.ceil(exact(ns) * exact(clock_ghz))


@dataclass(frozen=True, kw_only=True)
class DramDevice:
    """One DRAM part as the memory controller sees it.

    ``banks`` counts the banks of one rank of one channel (all bank groups together);
    ``row_bytes`` is the page one activation opens in a rank of a channel; ``bus_bytes`` is
    the data bus width of one channel, moved ``data_rate_mts`` million times a second, and
    one burst is ``burst_length`` beats. Core timings are in ns (``t_cas_ns`` is CL, the
    read latency). ``mapping`` names the fields of a burst address from most to least
    significant (``"row:bank:channel:column"``); ``row`` must come first and takes the bits
    that are left. ``shared_bus``: the three accelerator ports share these channels and one
    request queue per channel; otherwise each port has a device of its own.
    """

    name: str
    channels: int
    banks: int
    row_bytes: int
    bus_bytes: int
    data_rate_mts: int
    burst_length: int
    t_rcd_ns: float
    t_cas_ns: float
    t_rp_ns: float
    t_ras_ns: float | None = None
    ranks: int = 1
    bank_groups: int = 1
    mapping: str = "row:bank:channel:column"
    shared_bus: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"must be a non-empty string, got {self.name!r}", field="name")
        for field in ("channels", "banks", "row_bytes", "bus_bytes", "data_rate_mts",
                      "burst_length", "ranks", "bank_groups"):
            _check_positive_int(getattr(self, field), field, MAX_DRAM_DEVICE_INT)
        for field in ("t_rcd_ns", "t_cas_ns", "t_rp_ns", "t_ras_ns"):
            value = getattr(self, field)
            if value is None and field == "t_ras_ns":
                continue
            check_number(value, field, high=MAX_PHYSICAL)  # ns
        if self.banks % self.bank_groups:
            raise InputError(f"{self.banks} banks do not split into {self.bank_groups} groups",
                             field="bank_groups")
        if self.row_bytes % self.burst_bytes:
            raise InputError(f"must be a multiple of the {self.burst_bytes}-byte burst, "
                             f"got {self.row_bytes}", field="row_bytes")
        if not isinstance(self.shared_bus, bool):
            raise InputError(f"must be true or false, got {self.shared_bus!r}", field="shared_bus")
        self._check_mapping()

    def _check_mapping(self) -> None:
        if not isinstance(self.mapping, str):
            raise InputError(f"must be a string like 'row:bank:channel:column', got "
                             f"{self.mapping!r}", field="mapping")
        fields = self.mapping_fields
        unknown = sorted(set(fields) - set(MAPPING_FIELDS))
        needed = [f for f in _REQUIRED_FIELDS if f not in fields]
        needed += [f for f, n in (("channel", self.channels), ("rank", self.ranks)) if n > 1
                   and f not in fields]
        problem = None
        if unknown:
            problem = f"unknown fields {unknown}; use {', '.join(MAPPING_FIELDS)}"
        elif len(set(fields)) != len(fields):
            problem = "names a field twice"
        elif needed:
            problem = f"must name {', '.join(needed)}"
        elif fields[0] != "row":
            problem = "must start with 'row' (the row takes the high bits that are left)"
        elif "bankgroup" in fields and self.bank_groups == 1:
            problem = "names 'bankgroup' but the device has bank_groups = 1"
        if problem:
            raise InputError(f"{problem}, got {self.mapping!r}", field="mapping")

    @property
    def mapping_fields(self) -> tuple[str, ...]:
        """The mapping's fields, most significant first."""
        return tuple(part.strip() for part in self.mapping.split(":"))

    def field_sizes(self) -> dict[str, int]:
        """How many values each mapped field below ``row`` takes (``column`` in bursts)."""
        split = "bankgroup" in self.mapping_fields
        sizes = {"rank": self.ranks, "bankgroup": self.bank_groups,
                 "bank": self.banks // self.bank_groups if split else self.banks,
                 "channel": self.channels, "column": self.row_bytes // self.burst_bytes}
        return {f: sizes[f] for f in self.mapping_fields if f != "row"}

    @property
    def burst_bytes(self) -> int:
        """Bytes one burst moves on one channel."""
        return self.bus_bytes * self.burst_length

    @property
    def burst_ns(self) -> Fraction:
        """How long one burst holds a channel's data bus (``burst_length`` beats), exactly."""
        return Fraction(self.burst_length * 1000, self.data_rate_mts)

    @property
    def peak_bytes_per_ns(self) -> Fraction:
        """All channels' data buses busy all the time (GB/s)."""
        return Fraction(self.channels * self.bus_bytes * self.data_rate_mts, 1000)

    def cycles(self, ns: float | Fraction, clock_ghz: float) -> int:
        """``ns`` in accelerator cycles at ``clock_ghz``, rounded up."""
        return ns_to_cycles(ns, clock_ghz)

    @staticmethod
    def cycle_ns(clock_ghz: float) -> Fraction:
        """One accelerator cycle at ``clock_ghz``, in ns, exactly."""
        return 1 / exact(clock_ghz)

    def timings_ns(self) -> dict[str, Fraction]:
        """tRCD, tCAS, tRP, tRAS (0 when not given) and the burst time in ns, exactly."""
        return {"t_rcd": exact(self.t_rcd_ns), "t_cas": exact(self.t_cas_ns),
                "t_rp": exact(self.t_rp_ns), "t_ras": exact(self.t_ras_ns or 0),
                "burst": self.burst_ns}

    def access_ns(self, kind: str) -> Fraction:
        """Command-to-data time of a ``hit``, ``miss`` (bank closed) or ``conflict`` access."""
        parts = {"hit": ("t_cas_ns",), "miss": ("t_rcd_ns", "t_cas_ns"),
                 "conflict": ("t_rp_ns", "t_rcd_ns", "t_cas_ns")}
        if kind not in parts:
            raise ValueError(f"kind must be one of {sorted(parts)}, got {kind!r}")
        return sum((exact(getattr(self, p)) for p in parts[kind]), Fraction(0))

    def access_cycles(self, kind: str, clock_ghz: float) -> int:
        """:meth:`access_ns` in accelerator cycles (the sum, rounded up once)."""
        return ns_to_cycles(self.access_ns(kind), clock_ghz)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


DDR4_3200 = DramDevice(
    name="ddr4-3200",
    channels=1,
    ranks=1,
    banks=16,
    bank_groups=4,
    row_bytes=8192,
    bus_bytes=8,
    data_rate_mts=3200,
    burst_length=8,
    t_rcd_ns=13.75,
    t_cas_ns=13.75,
    t_rp_ns=13.75,
    t_ras_ns=32.0,
    mapping="row:bank:channel:column",
    shared_bus=True,
)
"""One 64-bit channel with a single-rank (1Rx8) non-ECC DDR4-3200 UDIMM of eight 8 Gb x8 dies.

JEDEC JESD79-4 (DDR4 SDRAM), speed bin DDR4-3200AA (22-22-22): tCK = 0.625 ns, CL = 22 nCK
= 13.75 ns, tRCD = tRP = 13.75 ns, tRAS(min) = 32 ns; burst length BL8. An 8 Gb x8 die has
16 banks in 4 bank groups and a 1 KB page, so a rank of eight x8 dies on the 64-bit (8-byte)
bus opens 8 KiB per activation. 3200 MT/s x 8 B = 25.6 GB/s peak; a burst is 64 B in 2.5 ns.
"""

LPDDR4_3200 = DramDevice(
    name="lpddr4-3200",
    channels=2,
    ranks=1,
    banks=8,
    row_bytes=2048,
    bus_bytes=2,
    data_rate_mts=3200,
    burst_length=16,
    t_rcd_ns=18.0,
    t_cas_ns=17.5,
    t_rp_ns=18.0,
    t_ras_ns=42.0,
    mapping="row:bank:channel:column",
    shared_bus=True,
)
"""One LPDDR4-3200 die: two x16 channels, each with 8 banks and a 2 KB page.

JEDEC JESD209-4 (LPDDR4): burst length BL16; tRCD = 18 ns, tRPpb = 18 ns, tRAS = 42 ns (the
ns terms of max(ns, nCK), which dominate at 1600 MHz); read latency RL = 28 nCK (DBI off) at
tCK = 0.625 ns (1600 MHz) = 17.5 ns. 3200 MT/s x 2 B x 2 channels = 12.8 GB/s peak; a burst
is 32 B in 5 ns.
"""

DRAM_DEVICES: dict[str, DramDevice] = {device.name: device for device in (DDR4_3200, LPDDR4_3200)}


def get_dram_device(name: str) -> DramDevice:
    """A DRAM device preset by name; see :data:`DRAM_DEVICES`."""
    try:
        return DRAM_DEVICES[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown DRAM model {name!r}; choose from "
                         f"{', '.join(sorted(DRAM_DEVICES))}", field="model") from None
