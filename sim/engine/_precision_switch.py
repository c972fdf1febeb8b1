"""Random precision switch: a network run at one of several precisions, chosen at random.

2-in-1-style robust inference draws the precision of each inference from a set with given
probabilities; its cost is the expectation over that draw, and its worst case the costliest
precision. Each precision is simulated once (every layer at those widths).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from hwloop.arch import Accelerator
from hwloop.sim.report import Report
from hwloop.traces import InputError, Network

from ._simulate import simulate

#: Totals the switch summarises (expected = probability-weighted mean; worst = maximum).
COST_KEYS = ("total_cycles", "macs", "dram_ifmap_bytes", "dram_filter_bytes", "dram_ofmap_bytes",
             "energy_pj", "edp")


@dataclass(frozen=True)
class PrecisionSwitch:
    """Per precision (weight bits, act bits, probability) its report; expected and worst cost."""

    choices: tuple[tuple[int, int, float], ...]
    reports: tuple[Report, ...]
    expected: dict
    worst: dict

    def to_dict(self) -> dict:
        return {"choices": [{"weight_bits": w, "act_bits": a, "probability": p,
                             "totals": report.totals}
                            for (w, a, p), report in zip(self.choices, self.reports)],
                "expected": self.expected, "worst": self.worst}


def parse_switch(text: str) -> tuple[tuple[int, int, float], ...]:
    """``"8:0.5,4:0.3,4x2:0.2"`` -> ((8, 8, 0.5), (4, 4, 0.3), (4, 2, 0.2)); ``WxA`` or ``B``."""
    choices = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            bits, prob = item.split(":")
            w, _, a = bits.lower().partition("x")
            choice = (int(w), int(a or w), float(prob))
        except ValueError:
            raise InputError(f"{item!r} is not BITS:PROBABILITY or WxA:PROBABILITY",
                             field="--precision-switch") from None
        if choice[2] < 0:
            raise InputError(f"negative probability in {item!r}", field="--precision-switch")
        choices.append(choice)
    total = sum(p for _, _, p in choices)
    if not choices or abs(total - 1.0) > 1e-6:
        raise InputError(f"probabilities must sum to 1, got {total:g}", field="--precision-switch")
    return tuple(choices)


def precision_switch(network: Network, accel: Accelerator,
                     choices: tuple[tuple[int, int, float], ...], **simulate_options) -> PrecisionSwitch:
    """Simulate ``network`` at every precision of ``choices``; expected and worst totals."""
    reports = []
    for w, a, _ in choices:
        at_width = replace(network, layers=tuple(replace(layer, weight_bits=w, act_bits=a)
                                                 for layer in network.layers))
        reports.append(simulate(at_width, accel, **simulate_options))
    keys = [k for k in COST_KEYS if all(k in r.totals for r in reports)]
    expected = {k: sum(p * r.totals[k] for (_, _, p), r in zip(choices, reports)) for k in keys}
    worst = {k: max(r.totals[k] for r in reports) for k in keys}
    return PrecisionSwitch(tuple(choices), tuple(reports), expected, worst)
