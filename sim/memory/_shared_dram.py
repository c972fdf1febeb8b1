"""Several arrays sharing one DRAM: each core's memory system as SimPy processes (the
same processes as ``_dram_system``), in one environment, with every DRAM port a single
server all cores queue on.

A port serves transfers in the order they are issued, each for ``ceil(words / B)`` cycles
back to back (B its words per cycle), usable ``latency`` cycles after its last. The cores
start together. Each read port's block 0s are prefetched back to back, in core order, the
last one usable just when the first core needs its block 0 (one array's block 0 is placed
the same way: just in time); a core then stalls when a block it needs is not yet usable, or
an ofmap half is not yet drained, as one array does. With one core the stalls are exactly
``time_events``'s (``tests/sim/test_cores.py``).
"""
from __future__ import annotations

import numpy as np
import simpy

from hwloop.arch import Accelerator, Dram, get_dram_device

from ._dram_device_model import DramDeviceModel
from ._dram_system import READS, _DevicePort, _MemorySystem, _plan_first_blocks
from ._events import MemoryEvents, ReadBlocks, WriteChunks
from ._pipe import port_bandwidths


class _Server:
    """One DRAM port: the next cycle it is free."""

    def __init__(self) -> None:
        self.free: int | None = None


class _SharedPort:
    """A core's view of a shared port: its own transfers' lengths, the server's queue."""

    def __init__(self, server: _Server, words: np.ndarray, bandwidth: int,
                 latency: int) -> None:
        self.server, self.latency = server, latency
        self.planned: int | None = None  # when block 0 is issued (reads)
        self.cycles = -(-words // bandwidth)

    def issue(self, k: int, now: int) -> tuple[int, int]:
        start = now if self.server.free is None else max(now, self.server.free)
        last = start + int(self.cycles[k]) - 1
        self.server.free = last + 1
        return start, last


def shared_stalls(events: list[MemoryEvents], dram: Dram,
                  multicast: int | None = None) -> tuple[list[int], int]:
    """Each core's stall cycles when ``events`` (one core's each) share ``dram``'s ports,
    and the prefetch (cycles before cycle 0). ``multicast`` (0 ifmap, 1 filter): that operand
    is one stream every core reads, fetched once (the blocks of the core with the most; the
    others use its first ones): block ``k`` is issued once every core that needs it has its
    half free, and is usable by all of them at once."""
    bandwidths = port_bandwidths(dram)
    latency = dram.latency_cycles
    servers = [_Server() for _ in bandwidths]
    ports = [[_SharedPort(server, words, bw, latency)
              for server, words, bw in zip(servers, (e.ifmap.words, e.filter.words,
                                                     e.ofmap.words), bandwidths)]
             for e in events]
    for op, stream in zip(READS, ("ifmap", "filter")):
        needs = [getattr(e, stream).need_row for e in events]
        if op == multicast:  # one stream: the longest core's, planned as one core's
            longest = max(range(len(events)), key=lambda i: needs[i].size)
            first = min((int(n[0]) for n in needs if n.size), default=0)
            _plan_block_zero([ports[longest][op]], [np.array([first])], latency)
        else:
            _plan_block_zero([core[op] for core in ports], needs, latency)
    return _run_cores(events, ports, multicast)


def _run_cores(events: list[MemoryEvents], ports: list[list],
               multicast: int | None) -> tuple[list[int], int]:
    """Every core's processes on its ``ports`` in one environment, from the earliest planned
    block 0 (the multicast operand fed by one stream); (stalls, prefetch)."""
    planned = [p.planned for core in ports for p in core[:2] if p.planned is not None]
    begin = min([0, *planned])
    env = simpy.Environment(initial_time=begin)
    systems = [_MemorySystem(e, core, begin, env=env) for e, core in zip(events, ports)]
    fed = () if multicast is None else (multicast,)
    computes = [system.start(fed) for system in systems]
    if multicast is not None:
        longest = max(range(len(events)), key=lambda i: systems[i].sizes[multicast])
        env.process(_multicast(env, systems, multicast, ports[longest][multicast]))
    env.run()
    return [_MemorySystem.final_stall(compute) for compute in computes], -begin


def _multicast(env: simpy.Environment, systems: list[_MemorySystem], op: int, port):
    """One read stream into every core's buffer."""
    blocks = max(system.sizes[op] for system in systems)
    if blocks == 0:
        return
    free = None
    for k in range(blocks):
        wanting = [system for system in systems if system.sizes[op] > k]
        if k == 0:
            assert port.planned is not None
            yield env.timeout(max(0, port.planned - env.now))
        else:
            for system in wanting:  # every core's half of block k - 2 is free
                yield system.in_use[op][k - 1]
            if free is not None and free > env.now:
                yield env.timeout(free - env.now)
        first, last = port.issue(k, int(env.now))
        for system in wanting:
            system.starts[op][k], system.lasts[op][k] = first, last
            system._at(system.usable[op][k], last + port.latency)
        free = last + 1


def shared_device_stalls(events: list[MemoryEvents], accel: Accelerator,
                         multicast: int | None = None) -> tuple[list[int], int]:
    """:func:`shared_stalls` on ``accel.dram.model``'s DRAM device, one device for every
    core: each core's operands in a region of their own (its addresses moved past the
    previous cores'), the multicast one shared; the device's banks, rows and buses order
    the cores' bursts. Each core's block 0 is planned as one array's (just in time on the
    idle device); the device then serialises them."""
    device = get_dram_device(accel.dram.model)
    model = DramDeviceModel(device, accel.clock_ghz)
    latency, word_bytes = accel.dram.latency_cycles, accel.sram.word_bytes
    streams: list[tuple[ReadBlocks | WriteChunks, ...]] = [(e.ifmap, e.filter, e.ofmap)
                                                           for e in events]
    spans = [max((int(_addresses(s[op]).max()) + 1 for s in streams
                  if _addresses(s[op]).size), default=0) for op in range(3)]
    ports = []
    for core, stream in enumerate(streams):
        moved = [0 if op == multicast else core * spans[op] for op in range(3)]
        ports.append([_DevicePort(model, op, s.words, _addresses(s) + moved[op], word_bytes,
                                  latency) for op, s in enumerate(stream)])
        _plan_first_blocks(events[core], ports[-1], device, accel.clock_ghz)
    return _run_cores(events, ports, multicast)


def _addresses(stream: ReadBlocks | WriteChunks) -> np.ndarray:
    return stream.addresses if stream.addresses is not None else np.zeros(0, np.int64)


def _plan_block_zero(ports: list[_SharedPort], needs: list[np.ndarray], latency: int) -> None:
    """Issue cycles of the cores' block 0 on one port: back to back, in core order, the
    last usable at the earliest row a core needs its block 0."""
    used = [(port, need) for port, need in zip(ports, needs) if need.size]
    if not used:
        return
    end = min(int(need[0]) for _, need in used) - latency  # the last transfer's last cycle
    for port, _ in reversed(used):
        port.planned = end - int(port.cycles[0]) + 1
        end = port.planned - 1
