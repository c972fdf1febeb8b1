"""The pipeline, chained in one place: workload + accelerator -> per-layer model -> Report;
and the runs built on it: replaying a trace, a random precision switch."""
from ._layer import simulate_layer
from ._llm import simulate_llm
from ._mapped import map_network
from ._precision_switch import PrecisionSwitch, parse_switch, precision_switch
from ._replay import replay
from ._simulate import hwloop_version, simulate, simulate_totals

__all__ = ["PrecisionSwitch", "hwloop_version", "map_network", "parse_switch", "precision_switch", "replay",
           "simulate", "simulate_layer", "simulate_llm", "simulate_totals"]
