"""A workload family and objectives written as a user would, for the plug-in contract tests.

Every call of an objective appends a line to the file ``$TOY_CALLS`` names, so a test can
count them across worker processes.
"""
from __future__ import annotations

import math
import os

from hwloop.traces import Layer, Network


def build(params: dict) -> Network:
    """An MLP: ``depth`` layers of ``hidden`` units on 64 inputs (``hidden = 13`` fails)."""
    hidden, depth = params.get("hidden", 16), params.get("depth", 1)
    if hidden == 13:
        raise ValueError("13 hidden units are unlucky")
    layers, width = [], 64
    for i in range(depth):
        layers.append(Layer.gemm(f"fc{i}", 4, hidden, width))
        width = hidden
    layers.append(Layer.gemm("out", 4, 10, width))
    return Network(name=f"toy-h{hidden}-d{depth}", layers=tuple(layers))


def _log(name: str, params: dict) -> None:
    with open(os.environ["TOY_CALLS"], "a") as calls:
        calls.write(f"{name} {sorted(params.items())}\n")


def score(params: dict) -> float:
    """A made-up accuracy: grows with the network, per network."""
    _log("score", params)
    return 1.0 - 1.0 / (1.0 + params.get("hidden", 16) * params.get("depth", 1))


def stats(params: dict) -> dict:
    """Two numbers at once (``stats.mean``, ``stats.spread``), per network."""
    _log("stats", params)
    hidden = params.get("hidden", 16)
    return {"mean": hidden / 100.0, "spread": 1.0 / hidden}


def cycles_per_mac(params: dict, report) -> float:
    """Per design point: reads the report."""
    _log("cycles_per_mac", params)
    return report.totals["total_cycles"] / report.totals["macs"]


def broken(params: dict) -> float:
    """Not a number for deep networks."""
    return math.nan if params.get("depth", 1) > 1 else 0.5


def module(params: dict):
    """The same MLP as a torch module and an example input."""
    import torch

    hidden, depth = params.get("hidden", 16), params.get("depth", 1)
    layers, width = [], 64
    for _ in range(depth):
        layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        width = hidden
    layers.append(torch.nn.Linear(width, 10))
    return torch.nn.Sequential(*layers), torch.zeros(4, 64)


def slow_score(params: dict) -> float:
    """``score``, slowly (a kill lands while one runs); logs when it finishes."""
    import time

    time.sleep(0.3)
    _log("slow_done", params)
    return 1.0 - 1.0 / (1.0 + params.get("hidden", 16) * params.get("depth", 1))
