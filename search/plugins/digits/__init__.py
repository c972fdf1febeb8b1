"""The digits family: small CNNs for scikit-learn's 8x8 digits, with their trained accuracy.

A plug-in like any user's (``[workload] family = "hwloop.search.plugins.digits:build"``),
and the family a space gets when it names ``net_*`` parameters without a ``[workload]``
table. :data:`build` declares the family's parameters (``net_*`` ranges, odd kernels), the
objectives it offers (``accuracy``: held-out digits accuracy, trained once per network;
``analog_accuracy``: the same network on analog tiles after drift, per design point since
the chip's converters change it), and the canonical form of its parameters.
"""
from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Mapping

from hwloop.traces import Network

from ..._plugins import Objective, Plugin
from ._accuracy import ANALOG_RECIPE, RECIPE
from ._network_space import NET_PARAMS, ODD_PARAMS, NetSpec, build_network, net_spec

__all__ = ["NetSpec", "accuracy", "analog_accuracy", "build", "build_network", "net_spec"]

HERE = "hwloop.search.plugins.digits"


def _torch_version() -> str:
    try:
        return version("torch")
    except PackageNotFoundError:
        return "none"


class DigitsFamily:
    """The family's build function, with its declarations as attributes."""

    int_params: Mapping[str, tuple[int, int]] = NET_PARAMS
    odd_params = ODD_PARAMS
    objectives = {
        "accuracy": Objective(name="accuracy", plugin=Plugin(f"{HERE}:accuracy"),
                              directions=(("accuracy", "maximize"),),
                              version=f"{sorted(RECIPE.items())} torch {_torch_version()}"),
        "analog_accuracy": Objective(
            name="analog_accuracy", plugin=Plugin(f"{HERE}:analog_accuracy"),
            directions=(("analog_accuracy", "maximize"),),
            version=f"{sorted(RECIPE.items())} {sorted(ANALOG_RECIPE.items())} "
                    f"torch {_torch_version()}"),
    }

    def __call__(self, params: dict[str, Any]) -> Network:
        return build_network(net_spec(params))

    @staticmethod
    def canonical(params: dict[str, Any]) -> dict[str, Any]:
        """Two points with the same spec are the same network (overrides of absent stages
        and overrides equal to the global parameters drop out)."""
        return net_spec(params).as_dict()


build = DigitsFamily()


def accuracy(params: dict[str, Any]) -> float:
    """Held-out digits accuracy of the point's CNN after the recipe's training."""
    from ._accuracy import measure_accuracy

    return measure_accuracy(net_spec(params))


def analog_accuracy(params: dict[str, Any], report: Any) -> float:
    """Held-out accuracy of the point's CNN on analog tiles after drift, with the converters
    of the point's chip when it is analog (else 7-bit DACs, 9-bit ADCs)."""
    array = report.config["accelerator"]["array"]
    converters = ((array["dac_bits"], array["adc_bits"]) if array["kind"] == "analog"
                  else (7, 9))
    return _analog(net_spec(params), *converters)


@functools.lru_cache(maxsize=64)
def _analog(spec: NetSpec, dac_bits: int, adc_bits: int) -> float:
    """Measured once per network and converters in a process (the store keeps it per
    design point across processes)."""
    from ._accuracy import analog_noise, measure_analog_accuracy

    return measure_analog_accuracy(spec, analog_noise(dac_bits, adc_bits))
