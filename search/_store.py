"""The oracle's SQLite file: results claimed, computed once and shared by every process.

WAL mode; every process opens its own connection. Before computing a result, a process
claims its key; another process that wants the same key waits for that result instead of
computing it again (a claim whose process has died is taken over, and an interrupted one is
dropped, so a killed run leaves nothing stale). Results are JSON dicts of numbers, or an
error line. The same file keeps the simulator's buffer walks (``sim/memory/_walk_store.py``).
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable

import numpy as np

from hwloop.traces import InputError

_POLL_S = 0.01
#: A computation: its numbers and None, or an empty dict and the error that stopped it.
Outcome = tuple[dict[str, float], "str | None"]


class Store:
    """One process's handle on the file (reopened after a fork or spawn)."""

    def __init__(self, path: str | os.PathLike[str], version: str) -> None:
        self.path, self.version = Path(path), version
        self._db: sqlite3.Connection | None = None
        self._pid = -1

    def once(self, key: str, compute: Callable[[], Outcome]) -> tuple[Outcome, bool]:
        """The stored outcome of ``key``, or ``compute()``'s, stored; and whether this call
        computed it. ``compute`` reports a bad input as its error (stored like a result);
        anything else it raises drops the claim and propagates."""
        found = self._claim(key)
        if found is not None:
            return found, False
        try:
            values, error = compute()
        except InputError as exc:
            values, error = {}, exc.reason
        except BaseException:
            self.conn().execute("DELETE FROM results WHERE key = ? AND owner = ?",
                                (key, os.getpid()))
            raise
        self.conn().execute("UPDATE results SET state = 'done', objectives = ?, error = ? "
                            "WHERE key = ?", (json.dumps(values), error, key))
        return (values, error), True

    def done(self, prefix: str = "") -> int:
        """Results in the file whose key starts with ``prefix`` ('' = all)."""
        (count,) = self.conn().execute(
            "SELECT COUNT(*) FROM results WHERE state = 'done' AND substr(key, 1, ?) = ?",
            (len(prefix), prefix)).fetchone()
        return count

    def get_walk(self, key: str) -> np.ndarray | None:
        """A buffer walk's words per pass (``hwloop.sim.WalkStore``)."""
        found = self.conn().execute("SELECT per_pass FROM walks WHERE key = ?",
                                    (f"{self.version}:{key}",)).fetchone()
        return None if found is None else np.frombuffer(found[0], dtype="<i8")

    def put_walk(self, key: str, per_pass) -> None:
        self.conn().execute(
            "INSERT INTO walks (key, per_pass) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
            "SET per_pass = excluded.per_pass "
            "WHERE length(excluded.per_pass) > length(walks.per_pass)",
            (f"{self.version}:{key}", np.asarray(per_pass, dtype="<i8").tobytes()))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __getstate__(self) -> dict:  # a connection never crosses a process boundary
        state = dict(self.__dict__)
        state["_db"], state["_pid"] = None, -1
        return state

    def conn(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
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

    def _claim(self, key: str) -> Outcome | None:
        """The stored outcome, or None once this process holds the right to compute ``key``."""
        db = self.conn()
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
            time.sleep(_POLL_S)  # another live process is computing this key


def _set_up(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode=WAL")
    # Commits reach the WAL without an fsync each: a killed process loses nothing committed
    # (only a power cut could), and a commit costs microseconds, not milliseconds.
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, "
               "state TEXT NOT NULL, owner INTEGER, objectives TEXT, error TEXT)")
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
