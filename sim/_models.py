"""Array models: one small interface, and a registry from ``arch`` config type to model.

``arch`` never names a simulator class; a new kind of array (precision-scalable, analog)
adds a config class in ``arch`` and registers its model here.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from hwloop.arch import (Accelerator, AnalogArray, BitFusionArray, BitSerialArray, SystolicArray,
                         TwoInOneArray)
from hwloop.traces import InputError, Layer

from ._systolic import check_buffers, simulate_systolic_layer


class ArrayModel(ABC):
    """Turns one layer on one accelerator into a report row (see ``sim.COLUMNS``)."""

    @abstractmethod
    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder=None) -> dict:
        """Counters for ``layer``; raise :class:`InputError` for what cannot run.

        ``recorder`` (a ``LayerRecorder``) asks for the layer's access trace; a model that
        cannot trace raises :class:`InputError`.
        """

    def check(self, accel: Accelerator) -> None:
        """Refuse an accelerator this model cannot run at all (called once per network)."""


class SystolicModel(ArrayModel):
    """Weight/input/output-stationary systolic arrays, exact to SCALE-Sim v3."""

    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder=None) -> dict:
        from ._precision import layer_bits, packed

        return simulate_systolic_layer(layer, packed(accel, *layer_bits(layer, accel)),
                                       scalesim_compat=scalesim_compat, recorder=recorder)

    def check(self, accel: Accelerator) -> None:
        check_buffers(accel)


class PrecisionScalableModel(SystolicModel):
    """Bit Fusion, bit-serial and 2-in-1 arrays: the systolic schedule, PE model applied."""

    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder=None) -> dict:
        from ._precision import simulate_precision_layer

        return simulate_precision_layer(layer, accel, scalesim_compat=scalesim_compat,
                                        recorder=recorder)


class AnalogModel(ArrayModel):
    """Analog in-memory-compute tiles: crossbar mapping, ADC-bound cycles (``sim/_analog.py``)."""

    def simulate_layer(self, layer: Layer, accel: Accelerator, *, scalesim_compat: bool,
                       recorder=None) -> dict:
        from ._analog import simulate_analog_layer

        return simulate_analog_layer(layer, accel, scalesim_compat=scalesim_compat,
                                     recorder=recorder)


_MODELS: dict[type, ArrayModel] = {
    SystolicArray: SystolicModel(),
    BitFusionArray: PrecisionScalableModel(),
    BitSerialArray: PrecisionScalableModel(),
    TwoInOneArray: PrecisionScalableModel(),
    AnalogArray: AnalogModel(),
}


def register_model(config_type: type, model: ArrayModel) -> None:
    """Simulate arrays whose config is ``config_type`` with ``model``."""
    _MODELS[config_type] = model


def model_for(accel: Accelerator) -> ArrayModel:
    try:
        return _MODELS[type(accel.array)]
    except KeyError:
        raise InputError(f"no simulator for arrays of type {type(accel.array).__name__}",
                         field="array") from None
