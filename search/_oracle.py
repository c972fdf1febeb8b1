"""The cost oracle: a design point in, the simulator's objectives out, each point simulated once.

Results live in a SQLite file (WAL mode) keyed by a SHA-256 of the accelerator, the network's
layers and the hwloop version, so a resumed or repeated search, or another process sharing
the file, is answered from disk. Every process opens its own connection. Before simulating, a
process claims the key; another process that wants the same point waits for that result
instead of simulating it again (a claim whose process has died is taken over). The same file
keeps the simulator's buffer walks (``sim/memory/_walk_store.py``), so workers that share a store
walk each buffer of a space once between them, not once each.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

from hwloop.arch import Accelerator
from hwloop.traces import InputError, Network

from ._space import apply_point, run_options

#: The objectives the simulator gives, and the report total each one is.
OBJECTIVES = {"latency": "total_cycles", "energy": "energy_pj", "edp": "edp", "area": "area_mm2"}
#: Objectives not from the simulator: the held-out accuracy of a network space's CNN, digital
#: or on analog tiles after drift (``search/_accuracy.py``).
NETWORK_OBJECTIVES = ("accuracy", "analog_accuracy")
#: Objectives searched upwards; every other one is minimised.
MAXIMISED = frozenset({"accuracy", "analog_accuracy"})
_POLL_S = 0.01


def point_key(accel: Accelerator, network: Network, version: str,
              run: dict[str, Any] | None = None) -> str:
    """A stable hash of what determines a simulation's result (``run``: how it runs, e.g.
    the mapper and its objective; left out when empty, so older keys stay valid)."""
    # json.dumps({"accelerator": ..., "layers": ..., "version": ...}, sort_keys=True), with
    # the layers serialised once per network
    extra = f', "run": {json.dumps(run, sort_keys=True)}' if run else ""
    hardware = accel.to_dict()
    if not hardware["sram"]["keep_activations"]:  # SCALE-Sim's choice: older keys hold
        del hardware["sram"]["keep_activations"]
    elif network.inputs is not None:  # what is kept follows the graph
        extra += f', "inputs": {json.dumps(network.inputs)}'
    if network.vector_ops:  # the operators and the unit that runs them change the numbers
        extra += f', "vector_ops": {_vector_ops_json(network)}'
    else:  # a vector unit cannot change a network without vector operators: older keys hold
        del hardware["vector"]
    blob = (f'{{"accelerator": {json.dumps(hardware, sort_keys=True, default=str)}, '
            f'"layers": {_layers_json(network)}{extra}, "version": {json.dumps(version)}}}')
    return hashlib.sha256(blob.encode()).hexdigest()


@functools.lru_cache(maxsize=256)
def _layers_json(network: Network) -> str:
    """The network's layers without their names (names do not change a number), as JSON:
    serialised once per network, not once per design point."""
    layers = [dataclasses.asdict(layer) for layer in network.layers]
    for layer in layers:
        layer.pop("name", None)
        for field, plain in _LATER_FIELDS.items():  # keys from before these fields existed
            if layer.get(field) == plain:
                del layer[field]
    return json.dumps(layers, sort_keys=True, default=str)


@functools.lru_cache(maxsize=256)
def _vector_ops_json(network: Network) -> str:
    """The network's vector operators (positions and counts, without names), as JSON."""
    ops = [[position, {k: v for k, v in dataclasses.asdict(op).items() if k != "name"}]
           for position, op in network.vector_ops]
    return json.dumps(ops, sort_keys=True, default=str)


#: Layer fields added after stores were written, with the value that leaves a key unchanged.
_LATER_FIELDS = {"conv_groups": 1, "dilation_h": 1, "dilation_w": 1}


class Oracle:
    """Evaluates design points of one network around one base accelerator, with a cache."""

    def __init__(self, network: Network | None, base_accel: Accelerator,
                 store_path: str | os.PathLike[str], *, share_walks: bool = True) -> None:
        from hwloop.sim import hwloop_version

        self.network, self.base = network, base_accel
        self.store_path = Path(store_path)
        self.version = hwloop_version()
        #: Whether simulations look up and keep buffer walks in the store (benchmarks that
        #: time a point simulated from nothing turn it off).
        self.share_walks = share_walks
        #: Simulations this object ran (cache misses); the rest came from the store.
        self.simulations = 0
        #: Networks this object trained for :meth:`accuracy` (the rest came from the store).
        self.trainings = 0
        #: What ``mapping = "auto"`` and ``dataflow = "auto"`` points optimise per layer: the
        #: study's objective, or EDP when it has several (the study sets it).
        self.layer_objective = "edp"
        self._db: sqlite3.Connection | None = None
        self._pid = -1

    def evaluate(self, point: dict[str, Any]) -> dict[str, float]:
        """Objectives of ``point`` (``latency``, ``energy``, ``edp``, ``area``). Raises
        ``InputError`` for a point that is no valid accelerator (remembered as well)."""
        accel, network = apply_point(point, self.base, self.network)
        run = run_options(point, self.layer_objective)
        key = point_key(accel, network, self.version, run)
        row = self._claim(key)
        if row is None:
            row = self._simulate(key, accel, network, run)
        objectives, error = row
        if error is not None:
            raise InputError(error)
        return objectives

    def analog_accuracy(self, point: dict[str, Any]) -> float:
        """Held-out accuracy of the point's CNN on analog tiles after drift (see
        ``_accuracy.ANALOG_RECIPE``), with the converters of the point's chip when it is
        analog (else 7-bit DACs, 9-bit ADCs); measured once per network and converters, and
        kept in the store."""
        from ._accuracy import analog_accuracy_key, analog_noise, measure_analog_accuracy
        from ._network_space import net_spec

        spec = net_spec(point)
        accel, _ = apply_point(point, self.base, self.network)
        array = accel.array
        noise = (analog_noise(array.dac_bits, array.adc_bits) if array.kind == "analog"
                 else analog_noise())
        key = analog_accuracy_key(spec, noise)
        db = self._conn()
        found = db.execute("SELECT value FROM accuracy WHERE key = ?", (key,)).fetchone()
        if found is not None:
            return found[0]
        value = measure_analog_accuracy(spec, noise)
        self.trainings += 1
        db.execute("INSERT OR IGNORE INTO accuracy (key, net, value) VALUES (?, ?, ?)",
                   (key, json.dumps({**spec.as_dict(), "analog": True}, sort_keys=True),
                    value))
        return value

    def accuracy(self, point: dict[str, Any]) -> float:
        """Held-out digits accuracy of the point's CNN (``net_*``, ``weight_bits``,
        ``act_bits``; the hardware does not change it), trained once per network and kept in
        the store. Two processes may both train a network; they store the same number."""
        from ._accuracy import accuracy_key, measure_accuracy
        from ._network_space import net_spec

        spec = net_spec(point)
        key = accuracy_key(spec)
        db = self._conn()
        found = db.execute("SELECT value FROM accuracy WHERE key = ?", (key,)).fetchone()
        if found is not None:
            return found[0]
        value = measure_accuracy(spec)
        self.trainings += 1
        db.execute("INSERT OR IGNORE INTO accuracy (key, net, value) VALUES (?, ?, ?)",
                   (key, json.dumps(spec.as_dict(), sort_keys=True), value))
        return value

    def get_walk(self, key: str) -> np.ndarray | None:
        """A buffer walk's words per pass from the store (``hwloop.sim.WalkStore``)."""
        found = self._conn().execute("SELECT per_pass FROM walks WHERE key = ?",
                                     (f"{self.version}:{key}",)).fetchone()
        return None if found is None else np.frombuffer(found[0], dtype="<i8")

    def put_walk(self, key: str, per_pass) -> None:
        self._conn().execute(
            "INSERT INTO walks (key, per_pass) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
            "SET per_pass = excluded.per_pass "
            "WHERE length(excluded.per_pass) > length(walks.per_pass)",
            (f"{self.version}:{key}", np.asarray(per_pass, dtype="<i8").tobytes()))

    def stored(self) -> int:
        """Points in the store (each simulated once, by whichever process)."""
        (count,) = self._conn().execute(
            "SELECT COUNT(*) FROM results WHERE state = 'done'").fetchone()
        return count

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __getstate__(self) -> dict:  # a connection never crosses a process boundary
        state = dict(self.__dict__)
        state["_db"], state["_pid"] = None, -1
        return state

    def _conn(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            db = sqlite3.connect(self.store_path, timeout=60, isolation_level=None)
            # Workers starting together race to create the store and switch it to WAL; the
            # loser of that race gets "database is locked" at once (no busy wait), so retry.
            deadline = time.monotonic() + 60
            while True:
                try:
                    _set_up(db)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(_POLL_S)
            self._db, self._pid = db, os.getpid()
        return self._db

    def _claim(self, key: str) -> tuple[dict, str | None] | None:
        """The stored result, or None once this process holds the right to simulate ``key``."""
        db = self._conn()
        while True:
            db.execute("BEGIN IMMEDIATE")
            try:
                found = db.execute("SELECT state, owner, objectives, error FROM results "
                                   "WHERE key = ?", (key,)).fetchone()
                if found is None or (found[0] == "running" and not _alive(found[1])):
                    db.execute("INSERT OR REPLACE INTO results (key, state, owner) "
                               "VALUES (?, 'running', ?)", (key, os.getpid()))
                    db.execute("COMMIT")
                    return None
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if found[0] == "done":
                return (json.loads(found[2]) if found[2] else {}), found[3]
            time.sleep(_POLL_S)  # another live process is simulating this point

    def _simulate(self, key: str, accel: Accelerator, network: Network,
                  run: dict[str, Any]) -> tuple[dict, str | None]:
        from hwloop.sim import sharing_walks, simulate_totals

        self.simulations += 1
        objectives: dict[str, float] = {}
        error = None
        try:
            with sharing_walks(self if self.share_walks else None):
                totals = simulate_totals(network, accel, **run)
            objectives = {name: float(totals[total]) for name, total in OBJECTIVES.items()}
        except InputError as exc:
            error = exc.reason
        except BaseException:
            self._conn().execute("DELETE FROM results WHERE key = ? AND owner = ?",
                                 (key, os.getpid()))
            raise
        self._conn().execute("UPDATE results SET state = 'done', objectives = ?, error = ? "
                             "WHERE key = ?", (json.dumps(objectives), error, key))
        return objectives, error


def _set_up(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    # Commits reach the WAL without an fsync each: a killed process loses nothing committed
    # (only a power cut could), and a commit costs microseconds, not milliseconds.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, "
               "state TEXT NOT NULL, owner INTEGER, objectives TEXT, error TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS accuracy (key TEXT PRIMARY KEY, "
               "net TEXT NOT NULL, value REAL NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS walks (key TEXT PRIMARY KEY, "
               "per_pass BLOB NOT NULL)")


def _alive(pid: int | None) -> bool:
    """Whether a process of this machine still runs (a claim of a killed one is stale)."""
    if pid is None:
        return False
    if pid == os.getpid():
        return False  # our own claim left by an interrupted evaluation
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
