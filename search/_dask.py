"""Trials on a Dask cluster (the only module that imports Dask).

Each Dask task runs a share of the remaining trials against the study's storage, as a local
worker process would; the oracle's cache file and the study storage must be reachable from
every worker (SQLite on a shared disk for one machine or a ``LocalCluster``; a database URL
such as ``postgresql://`` for ``--storage`` across machines).
"""
from __future__ import annotations

import time
from typing import Any

from hwloop.traces import InputError

from ._trials import worker_entry


def run_on_dask(address: str, job: dict, seeds: list[int], shares: list[int], study: Any,
                bar: Any, finished) -> int:
    """Run ``shares`` trials on the cluster at ``address``; the simulations they ran."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--dask needs Dask: pip install 'hwloop[dask]'", field="--dask") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach a Dask scheduler at {address!r} ({exc})",
                         field="--dask") from None
    with client:
        futures = [client.submit(worker_entry, job, seeds[i], n, pure=False)
                   for i, n in enumerate(shares)]
        while not all(f.done() for f in futures):
            time.sleep(0.2)
            if bar is not None:
                bar.n = finished(study)
                bar.refresh()
        return sum(client.gather(futures))
