"""The memory system as SimPy processes: the array, a prefetcher per read port, a drainer.

The same rules as the fixed pipe (``docs/memory-timing.md``), told as processes on integer
cycles, so that a plain pipe gives the pipe's numbers exactly and a DRAM device can take the
pipe's place:

- The **compute** process walks the event rows in order (ifmap blocks, filter blocks,
  ofmap chunk starts, ofmap chunk fills within a row), sleeping from one row to the next.
  Its clock is ``T(r) = r + S``: waiting for a block to be usable, or for an ofmap half to
  drain, *is* the stall. Once read block ``k`` is usable it signals ``in_use[k]`` (the
  half that held block ``k - 1`` is free); at a chunk's last write it signals ``filled``.
- A **prefetcher** per read port issues block ``k >= 1`` once ``in_use[k - 1]`` has
  happened and its port is free, and signals ``usable[k]`` when the data is in.
- The **drainer** writes chunk ``j`` once it is ``filled`` and chunk ``j - 1`` has
  ``drained``.
- A **port** says how long a transfer takes: a pipe (``ceil(W / B)`` cycles, reads usable
  ``L`` later), or the DRAM device model (``sim/memory/_dram_device_model.py``).

Read block 0 is prefetched to be usable just when first needed. A pipe port places it
afterwards (its port is the operand's own, so nothing else is disturbed). A device port
cannot go back in time: both read operands' block 0 are issued together, first of all
(the run may begin before cycle 0), at the latest cycle at which, on the idle device, each
is usable by its need row; with ``shared_bus=False`` each port plans on its own.

Device mode: a transfer starts in the cycle of its first DRAM command; it is usable
``dram.latency_cycles`` (controller/interconnect) after the cycle of its last beat, and its
port is free the cycle after that beat. ``dram``'s port bandwidths do not apply; the
reported bandwidths are the device's peak words per cycle, rounded down.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import simpy

from hwloop.arch import Accelerator, DramDevice, get_dram_device
from hwloop.traces import InputError

from ._dram_device_model import DramDeviceModel
from ._events import MemoryEvents, ReadBlocks, WriteChunks
from ._pipe import MemoryTiming, operand_zeros, port_bandwidths

READS = (0, 1)  # ifmap, filter
OFMAP = 2


class _PipePort:
    """A fixed pipe of ``bandwidth`` words per cycle; reads usable ``latency`` cycles late."""

    planned: int | None = None  # block 0 is placed just in time, after the fact

    def __init__(self, words: np.ndarray, bandwidth: int, latency: int) -> None:
        self.cycles = -(-words // bandwidth)
        self.latency = latency

    def issue(self, k: int, now: int) -> tuple[int, int]:
        """(first, last cycle) of transfer ``k`` started at ``now``."""
        return now, now + int(self.cycles[k]) - 1

    def just_in_time(self, k: int, usable: int) -> tuple[int, int]:
        """(first, last cycle) of the transfer that is usable exactly at ``usable``."""
        last = usable - self.latency
        return last - int(self.cycles[k]) + 1, last


class _DevicePort:
    """One port's transfers on a DRAM device model (shared with the other ports or not)."""

    def __init__(self, model: DramDeviceModel, port: int, words: np.ndarray,
                 addresses: np.ndarray, word_bytes: int, latency: int) -> None:
        self.model, self.port, self.word_bytes, self.latency = model, port, word_bytes, latency
        self.addresses = addresses
        self.bounds = np.concatenate(([0], np.cumsum(words)))
        #: Cycle at which block 0 is issued (reads; set by :func:`_plan_first_blocks`).
        self.planned: int | None = None

    def words_of(self, k: int) -> np.ndarray:
        return self.addresses[self.bounds[k]:self.bounds[k + 1]]

    def issue(self, k: int, now: int) -> tuple[int, int]:
        timing = self.model.submit(self.port, now, self.words_of(k), self.word_bytes)
        return timing.start, timing.last


@dataclass(frozen=True)
class MemorySystemRun:
    """A simpy run: its timing and, in device mode, the device's row hit counts."""

    timing: MemoryTiming
    row_stats: dict[str, int] | None


class _MemorySystem:
    """The processes of one run and the events between them."""

    def __init__(self, events: MemoryEvents, ports: list, start: int,
                 env: simpy.Environment | None = None) -> None:
        self.env = env = env if env is not None else simpy.Environment(initial_time=start)
        self.events, self.ports = events, ports
        streams = (events.ifmap, events.filter, events.ofmap)
        self.sizes = [s.words.size for s in streams]
        self.starts = operand_zeros(self.sizes)
        self.lasts = operand_zeros(self.sizes)
        self.wanted = [env.event() for _ in READS]
        self.usable = [[env.event() for _ in range(self.sizes[op])] for op in READS]
        self.in_use = [[env.event() for _ in range(self.sizes[op])] for op in READS]
        self.filled = [env.event() for _ in range(self.sizes[OFMAP])]
        self.drained = [env.event() for _ in range(self.sizes[OFMAP])]
        self.stall_rows: list[int] = []
        self.stall_after: list[int] = []

    def run(self) -> int:
        """Run to the end; returns the final stall."""
        compute = self.start()
        self.env.run()
        return self.final_stall(compute)

    def start(self, fed: tuple[int, ...] = ()) -> simpy.Process:
        """Start the processes (several systems may share one environment); the compute.
        ``fed``: read operands another process delivers (a multicast to several arrays)."""
        for op in READS:
            if op not in fed:
                self.env.process(self._prefetcher(op))
        self.env.process(self._drainer())
        return self.env.process(self._compute())

    @staticmethod
    def final_stall(compute: simpy.Process) -> int:
        if not compute.triggered:  # pragma: no cover - a broken event order, not a user error
            raise RuntimeError("memory system deadlocked: events out of order")
        return cast(int, compute.value)  # _compute's final stall (simpy types it Any | None)

    def _at(self, event: simpy.Event, cycle: int) -> None:
        """Trigger ``event`` at ``cycle`` (now if that has passed)."""
        delay = cycle - self.env.now
        if delay <= 0:
            event.succeed()
        else:
            def trigger(_: simpy.Event) -> None:
                event.succeed()
            self.env.timeout(delay).callbacks.append(trigger)

    def _prefetcher(self, op: int):
        env, port, starts = self.env, self.ports[op], self.starts[op]
        if self.sizes[op] == 0:
            return
        if port.planned is None:  # pipe: placed once the array first needs it
            yield self.wanted[op]
            first, last = port.just_in_time(0, env.now)
        else:
            yield env.timeout(port.planned - env.now)
            first, last = port.issue(0, env.now)
        starts[0] = first
        self.lasts[op][0] = last
        self._at(self.usable[op][0], last + port.latency)
        free = last + 1
        for k in range(1, self.sizes[op]):
            yield self.in_use[op][k - 1]  # block k-1 in use: the half of block k-2 is free
            if free > env.now:
                yield env.timeout(free - env.now)
            starts[k], last = port.issue(k, env.now)
            self.lasts[op][k] = last
            self._at(self.usable[op][k], last + port.latency)
            free = last + 1

    def _drainer(self):
        env, port, starts = self.env, self.ports[OFMAP], self.starts[OFMAP]
        for j in range(self.sizes[OFMAP]):
            yield self.filled[j]
            if j:
                yield self.drained[j - 1]
            starts[j], last = port.issue(j, env.now)
            self.lasts[OFMAP][j] = last
            self._at(self.drained[j], last + 1)

    def _compute(self):
        """Walk the event rows; returns the final stall."""
        env, ev = self.env, self.events
        need = (ev.ifmap.need_row, ev.filter.need_row)
        start_row, fill_row = ev.ofmap.start_row, ev.ofmap.fill_row
        nxt = [0, 0]
        js = jf = 0
        stall = 0
        while True:
            heads = [need[op][nxt[op]] for op in READS if nxt[op] < self.sizes[op]]
            heads += [start_row[js]] if js < self.sizes[OFMAP] else []
            heads += [fill_row[jf]] if jf < self.sizes[OFMAP] else []
            if not heads:
                return stall
            row = int(min(heads))
            yield env.timeout(row + stall - env.now)
            for op in READS:
                while nxt[op] < self.sizes[op] and need[op][nxt[op]] == row:
                    if nxt[op] == 0:
                        self.wanted[op].succeed()
                    yield self.usable[op][nxt[op]]
                    self.in_use[op][nxt[op]].succeed()
                    nxt[op] += 1
            while js < self.sizes[OFMAP] and start_row[js] == row:
                if js >= 2:
                    while jf <= js - 2:  # chunk js-2 fills in this very row: it comes first
                        self.filled[jf].succeed()
                        jf += 1
                    yield self.drained[js - 2]
                js += 1
            while jf < self.sizes[OFMAP] and fill_row[jf] == row:
                self.filled[jf].succeed()
                jf += 1
            if env.now - row > stall:
                stall = env.now - row
                self.stall_rows.append(row)
                self.stall_after.append(stall)


def _check_events(events: MemoryEvents) -> None:
    ofm = events.ofmap
    for name, rows in (("ifmap", events.ifmap.need_row), ("filter", events.filter.need_row)):
        if np.any(np.diff(rows) < 0):
            raise ValueError(f"{name} blocks must be needed in order of row")
    if np.any(ofm.start_row > ofm.fill_row) or np.any(ofm.fill_row[:-1] > ofm.start_row[1:]):
        raise ValueError("ofmap chunks must start, fill, and follow one another in row order")
    for stream in (events.ifmap, events.filter, events.ofmap):
        if np.any(stream.words <= 0):
            raise ValueError("every transfer must move at least one word")


def _device_ports(events: MemoryEvents, accel: Accelerator,
                  device: DramDevice) -> tuple[list[_DevicePort], DramDeviceModel]:
    model = DramDeviceModel(device, accel.clock_ghz)
    ports = []
    streams: tuple[ReadBlocks | WriteChunks, ...] = (events.ifmap, events.filter, events.ofmap)
    for op, stream in enumerate(streams):
        if stream.words.size and stream.addresses is None:
            raise ValueError("the DRAM device model needs the words each transfer moves: "
                             "collect the events with record_addresses=True")
        addresses = stream.addresses if stream.addresses is not None else np.zeros(0, np.int64)
        ports.append(_DevicePort(model, op, stream.words, addresses, accel.sram.word_bytes,
                                 accel.dram.latency_cycles))
    _plan_first_blocks(events, ports, device, accel.clock_ghz)
    return ports, model


def _plan_first_blocks(events: MemoryEvents, ports: list[_DevicePort], device: DramDevice,
                       clock_ghz: float) -> None:
    """Issue cycle of each read operand's block 0: just in time on the idle device."""
    scratch = DramDeviceModel(device, clock_ghz)
    slack = {}
    for op, need in zip(READS, (events.ifmap.need_row, events.filter.need_row)):
        if need.size:
            port = ports[op]
            timing = scratch.submit(op, 0, port.words_of(0), port.word_bytes)
            slack[op] = int(need[0]) - (timing.last + port.latency)
    for op, lead in slack.items():
        ports[op].planned = min(slack.values()) if device.shared_bus else lead


def simulate_memory(events: MemoryEvents, accel: Accelerator, *,
                    device: DramDevice | None = None) -> MemorySystemRun:
    """Run the memory system's processes; see :func:`time_events_simpy`."""
    _check_events(events)
    if device is None and accel.dram.model is not None:
        device = get_dram_device(accel.dram.model)
    latency = accel.dram.latency_cycles
    streams = (events.ifmap.words, events.filter.words, events.ofmap.words)
    model = None
    if device is None:
        bws: tuple[int, int, int] = port_bandwidths(accel.dram)
        ports: list = [_PipePort(w, bw, latency) for w, bw in zip(streams, bws)]
        begin = 0
    else:
        ports, model = _device_ports(events, accel, device)
        peak = max(1, int(model.peak_words_per_cycle(accel.sram.word_bytes)))
        bws = (peak, peak, peak)
        begin = min([0] + [p.planned for p in ports[:2] if p.planned is not None])
    system = _MemorySystem(events, ports, begin)
    stall = system.run()
    timing = MemoryTiming(int(stall), np.array(system.stall_rows, dtype=np.int64),
                          np.array(system.stall_after, dtype=np.int64), system.starts,
                          bws, latency,
                          lasts=system.lasts if device is not None else None)
    return MemorySystemRun(timing, model.stats() if model is not None else None)


def time_events_simpy(events: MemoryEvents, accel: Accelerator, *,
                      device: DramDevice | None = None) -> MemoryTiming:
    """Time ``events`` with SimPy processes: on ``device`` (or the preset ``accel.dram.model``
    names) through the DRAM device model, else on ``accel.dram``'s fixed pipe, where the
    result equals :func:`hwloop.sim.memory.time_events` exactly."""
    if events.psum.words.size:
        raise InputError("the DRAM device model times SCALE-Sim's schedule only; an explicit "
                         "mapping runs on the fixed pipe (drop the DRAM model)", field="model")
    return simulate_memory(events, accel, device=device).timing
