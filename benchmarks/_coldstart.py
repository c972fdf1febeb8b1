"""Child process for the compile-time benchmark: times one fresh interpreter's first calls.

Run by ``bench_resnet18.py`` with ``NUMBA_CACHE_DIR`` pointing at an empty (cold) or filled
(cached) directory. It must be a separate process: once Numba has compiled or loaded a kernel
in a process, no later call in that process shows the cost again. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _first_and_steady(call: Callable[[], object], repeat: int) -> dict[str, float]:
    """First call (compile or cache load + run) and the median of ``repeat`` later calls."""
    first = _timed(call)
    steady = statistics.median(_timed(call) for _ in range(repeat))
    return {"first_s": first, "steady_s": steady, "overhead_s": first - steady}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--network", default="resnet18")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    from hwloop.arch import get_preset
    from hwloop.sim import simulate
    from hwloop.traces import builtin_network
    import_s = time.perf_counter() - start

    network = builtin_network(args.network)
    accel = get_preset("scalesim_default")
    result = {
        "import_s": import_s,
        "default": _first_and_steady(lambda: simulate(network, accel), args.repeat),
        # compat mode adds the SCALE-Sim ofmap-drain kernel: a second, separate compile
        "compat": _first_and_steady(lambda: simulate(network, accel, scalesim_compat=True),
                                    args.repeat),
        "process_s": time.perf_counter() - start,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
