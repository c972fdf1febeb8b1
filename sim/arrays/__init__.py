"""Array models, one module per kind, and the registry from ``arch`` config type to model.

To add a kind: a config class in ``arch`` and a module here with its :class:`ArrayModel`,
registered below (see ``docs/architecture.md``).
"""
from hwloop.arch import AnalogArray, BitFusionArray, BitSerialArray, SystolicArray, TwoInOneArray
from hwloop.sim.report import COLUMNS  # with every registered kind's columns

from ._analog import ANALOG_BREAKDOWN_KEYS, AnalogModel, TileMapping, analog_area_mm2, map_layer
from ._base import (
                    ArrayModel,
                    add_kind_options,
                    kind_overrides,
                    model_for,
                    model_of_kind,
                    register_model,
                    registered_models,
)
from ._bitfusion import BitFusionModel
from ._bitserial import BitSerialModel
from ._energy import BREAKDOWN_KEYS, layer_energy, leakage_energy, memory_energy, pe_bit_products
from ._pricing import add_energy, area_mm2, energy_totals
from ._sparse import dense_equivalent, metadata_bits, ratio_of, sparse_row
from ._sparse_rows import row_draws, row_wise_row
from ._systolic import MEMORY_COLUMNS, SystolicModel, simulate_systolic_layer
from ._two_in_one import TwoInOneModel
from ._widths import add_dram_bytes, add_width_columns, layer_bits, packed

register_model(SystolicArray, SystolicModel())
register_model(BitFusionArray, BitFusionModel())
register_model(BitSerialArray, BitSerialModel())
register_model(TwoInOneArray, TwoInOneModel())
register_model(AnalogArray, AnalogModel())

__all__ = ["ANALOG_BREAKDOWN_KEYS", "AnalogModel", "ArrayModel", "BREAKDOWN_KEYS", "COLUMNS",
           "BitFusionModel", "BitSerialModel", "MEMORY_COLUMNS", "SystolicModel", "TileMapping",
           "TwoInOneModel", "add_dram_bytes", "add_energy", "add_kind_options", "add_width_columns",
           "analog_area_mm2", "area_mm2", "dense_equivalent", "energy_totals", "kind_overrides", "layer_bits",
           "layer_energy", "leakage_energy", "map_layer", "memory_energy", "metadata_bits", "model_for",
           "model_of_kind", "packed", "pe_bit_products", "ratio_of", "register_model",
           "registered_models", "row_draws", "row_wise_row", "simulate_systolic_layer", "sparse_row"]
