"""A DRAM device under an open-page policy: transfers -> bursts -> (channel, bank, row) -> time.

What is modelled, per channel:

- **Bursts.** A transfer's words become byte addresses (``REGION_BASES[port] + word *
  word_bytes``: ifmap from 0, filter from 1 GiB, ofmap from 2 GiB, so operands never share
  a row unless one outgrows 1 GiB), then the distinct ``burst_bytes``-aligned bursts they
  touch, in order of first touch (a transfer fetches each burst once).
- **Address mapping.** The burst index is cut by ``device.mapping`` (mixed radix, low field
  on the right; ``row`` takes what is left above the other fields).
- **Banks, open page.** A bank keeps its last row open. A burst to the open row is a *hit*
  (READ, data ``tCAS`` later); to a closed bank a *miss* (ACT, ``tRCD``, READ); to another
  row a *conflict* (PRE no earlier than the bank's last READ and ``tRAS`` after its ACT,
  then ``tRP``, ACT, ``tRCD``, READ). Command-to-data is thus tCAS, tRCD + tCAS or
  tRP + tRCD + tCAS.
- **Queue and bus.** One FIFO request queue per channel (per port and channel when the
  device is not ``shared_bus``): READs and data leave in arrival order, one burst at a time
  on the data bus (``burst_length`` beats, ``device.burst_ns``); a READ is issued just in
  time for its bus slot. Row commands (PRE/ACT) of queued bursts go out as soon as their
  own bank allows, so activations in other banks overlap earlier data (bank parallelism).
- **Not modelled:** refresh, tRRD/tFAW, tCCD_L between bank groups, tRTP/tWR, read/write
  turnaround, command-bus slots. Writes are timed like reads (CWL taken as CL).

Arithmetic is exact integers: every time is a whole number of *ticks*, the largest unit in
which the accelerator cycle, the burst time and every timing are whole. Only a transfer's
two ends become cycles: it *starts* in the cycle of its first command (floor) and its
*last* cycle is the one in which its last beat ends (a beat ending exactly on a cycle edge
belongs to the cycle before). A request that arrives at cycle ``c`` arrives at its edge.
Bursts are timed one by one (per burst, never per cycle) in arrival order, so a request's
timing is final when it is submitted: later arrivals never overtake it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from hwloop.arch import DramDevice

#: Byte address where each port's operand starts in DRAM: (ifmap, filter, ofmap).
REGION_BASES = (0, 1 << 30, 2 << 30)
HIT, MISS, CONFLICT = range(3)
KINDS = ("hit", "miss", "conflict")


@dataclass(frozen=True)
class TransferTiming:
    """A transfer's first command cycle, the cycle its last beat ends in, and its bursts."""

    start: int
    last: int
    bursts: int


class _Channel:
    """Timing state of one channel: its data bus and its banks (all ranks)."""

    __slots__ = ("bus_free", "open_row", "act_at", "last_read")

    def __init__(self, banks: int) -> None:
        self.bus_free = -(1 << 62)
        self.open_row = [-1] * banks
        self.act_at = [-(1 << 62)] * banks
        self.last_read = [-(1 << 62)] * banks


class DramDeviceModel:
    """Times transfers, in order of arrival, on ``device`` clocked against ``clock_ghz``.

    ``record`` keeps every burst's (port, channel, bank, row, kind, first command, READ,
    data start, data end) in ticks, for tests and traces.
    """

    def __init__(self, device: DramDevice, clock_ghz: float, *, record: bool = False) -> None:
        self.device = device
        self._fields = device.mapping_fields
        self._sizes = device.field_sizes()
        ns = {"cycle": device.cycle_ns(clock_ghz), **device.timings_ns()}
        #: Ticks per ns: the cycle, the burst and every timing are whole numbers of ticks.
        self.ticks_per_ns = math.lcm(*(t.denominator for t in ns.values()))
        self._ticks = {name: int(t * self.ticks_per_ns) for name, t in ns.items()}
        self.ticks_per_cycle = self._ticks["cycle"]
        self._banks = device.ranks * device.banks
        self._sets: dict[int, list[_Channel]] = {}
        self._last_ready: dict[int, int] = {}
        #: Bursts per (port, kind): hits, misses, conflicts.
        self.counts = np.zeros((3, 3), dtype=np.int64)
        self._log: list[tuple[int, ...]] | None = [] if record else None

    # ---------------------------------------------------------------- addresses

    def bursts(self, port: int, addresses: np.ndarray, word_bytes: int) -> np.ndarray:
        """Burst indices a transfer touches, each once, in order of first touch."""
        byte = REGION_BASES[port] + np.asarray(addresses, dtype=np.int64) * word_bytes
        size = self.device.burst_bytes
        first, last = byte // size, (byte + word_bytes - 1) // size  # a word may straddle
        spans = np.arange((word_bytes - 1) // size + 2)
        ids = np.minimum(first[:, None] + spans, last[:, None]).ravel()
        _, seen = np.unique(ids, return_index=True)
        return ids[np.sort(seen)]

    def decode(self, bursts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(channel, bank across ranks, row) of each burst index under the mapping."""
        rest = np.asarray(bursts, dtype=np.int64)
        parts: dict[str, np.ndarray] = {}
        for field in reversed(self._fields[1:]):
            parts[field], rest = rest % self._sizes[field], rest // self._sizes[field]
        zero = np.zeros_like(rest)
        bank = parts["bank"]
        if "bankgroup" in parts:
            bank = parts["bankgroup"] * self._sizes["bank"] + bank
        bank = parts.get("rank", zero) * self.device.banks + bank
        return parts.get("channel", zero), bank, rest

    # ---------------------------------------------------------------- timing

    def submit(self, port: int, ready: int, addresses: np.ndarray,
               word_bytes: int) -> TransferTiming:
        """Queue a transfer of ``addresses`` (word indices) arriving at cycle ``ready``."""
        key = 0 if self.device.shared_bus else port
        if ready < self._last_ready.get(key, ready):
            raise ValueError(f"transfers must arrive in order: cycle {ready} after "
                             f"{self._last_ready[key]}")
        self._last_ready[key] = ready
        if key not in self._sets:
            self._sets[key] = [_Channel(self._banks) for _ in range(self.device.channels)]
        bursts = self.bursts(port, addresses, word_bytes)
        if bursts.size == 0:
            return TransferTiming(ready, ready - 1, 0)
        channel, bank, row = self.decode(bursts)
        arrive = ready * self.ticks_per_cycle
        first, end = self._time_bursts(self._sets[key], port, arrive, channel.tolist(),
                                       bank.tolist(), row.tolist())
        return TransferTiming(first // self.ticks_per_cycle, (end - 1) // self.ticks_per_cycle,
                              int(bursts.size))

    def _time_bursts(self, channels: list[_Channel], port: int, arrive: int, chans: list[int],
                     banks: list[int], rows: list[int]) -> tuple[int, int]:
        """Time bursts arriving together; returns (first command, last data end) in ticks."""
        t = self._ticks
        cas, rcd, rp, ras, burst = t["t_cas"], t["t_rcd"], t["t_rp"], t["t_ras"], t["burst"]
        first, end = 1 << 62, -(1 << 62)
        counts = self.counts[port]
        for c, b, r in zip(chans, banks, rows):
            ch = channels[c]
            if ch.open_row[b] == r:
                kind = HIT
                read = max(arrive, ch.act_at[b] + rcd, ch.bus_free - cas)
                command = read
            else:
                if ch.open_row[b] < 0:
                    kind = MISS
                    act = command = arrive
                else:
                    kind = CONFLICT
                    command = max(arrive, ch.last_read[b], ch.act_at[b] + ras)
                    act = command + rp
                ch.open_row[b], ch.act_at[b] = r, act
                read = max(act + rcd, ch.bus_free - cas)
            ch.last_read[b] = read
            ch.bus_free = read + cas + burst
            counts[kind] += 1
            first, end = min(first, command), max(end, ch.bus_free)
            if self._log is not None:
                self._log.append((port, c, b, r, kind, command, read, read + cas, ch.bus_free))
        return first, end

    def burst_log(self) -> dict[str, np.ndarray]:
        """Every burst timed so far (needs ``record=True``); times in ticks."""
        if self._log is None:
            raise ValueError("construct the model with record=True to log bursts")
        names = ("port", "channel", "bank", "row", "kind", "command", "read", "data_start",
                 "data_end")
        table = np.array(self._log, dtype=np.int64).reshape(-1, len(names))
        return {name: table[:, i] for i, name in enumerate(names)}

    def stats(self) -> dict[str, int]:
        """Row hits, misses and conflicts over all ports."""
        return {kind: int(n) for kind, n in zip(KINDS, self.counts.sum(axis=0))}

    def peak_words_per_cycle(self, word_bytes: int) -> Fraction:
        """Words per cycle with every data bus of one port's channels always busy."""
        return self.device.peak_bytes_per_ns * self.ticks_per_cycle / self.ticks_per_ns \
            / word_bytes


def time_transfers(device: DramDevice, clock_ghz: float,
                   transfers: list[tuple[int, int, np.ndarray, int]]
                   ) -> tuple[list[TransferTiming], dict[str, int]]:
    """Time ``(port, ready cycle, word addresses, word bytes)`` transfers, in order of
    ``ready``; returns each transfer's timing and the row hit/miss/conflict counts."""
    model = DramDeviceModel(device, clock_ghz)
    order = sorted(range(len(transfers)), key=lambda i: transfers[i][1])
    timings: list[TransferTiming | None] = [None] * len(transfers)
    for i in order:
        timings[i] = model.submit(*transfers[i])
    return timings, model.stats()  # type: ignore[return-value]
