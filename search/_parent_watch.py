"""Worker processes die with the process that started them.

A ``hwloop search --workers K`` process killed outright (SIGKILL, OOM killer) runs no cleanup,
and its spawned workers would go on running trials, then wait on their task pipe forever. Each
worker calls :func:`watch_parent` as it starts: on Linux the kernel kills it when its parent
dies (``PR_SET_PDEATHSIG``, which works even while a kernel holds the GIL); everywhere a daemon
thread exits the process once the parent is gone. The trial it was running stays RUNNING in the
study and is queued again by the next run.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.2


def watch_parent(parent_pid: int) -> None:
    """Make this process exit as soon as ``parent_pid`` (its parent) dies."""
    _kill_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the watch was set
        os._exit(1)
    parent = multiprocessing.parent_process()
    target = _wait_sentinel if parent is not None else _poll_ppid
    arg = parent.sentinel if parent is not None else parent_pid
    threading.Thread(target=target, args=(arg,), name="hwloop-parent-watch", daemon=True).start()


def _kill_with_parent() -> None:
    """Linux: have the kernel send SIGKILL when the parent exits (best effort elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the thread below still watches
        pass


def _wait_sentinel(sentinel: int) -> None:
    """The parent's sentinel becomes ready (EOF on its pipe) when the parent dies."""
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _poll_ppid(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_POLL_S)
    os._exit(1)
