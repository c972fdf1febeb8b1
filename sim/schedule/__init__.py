"""The schedule of a layer on an array: folds, cycle formulas, SRAM traffic and demand order.

This is the one place that knows what OS, WS and IS mean; the memory system and the array
models take a :class:`Schedule` and read its numbers.
"""
from ._demand import DEFAULT_CHUNK_ROWS, DemandChunk, geometry, iter_demand
from ._fold import (
                    DATAFLOW_CODE,
                    STATIONARY,
                    FoldPlan,
                    Schedule,
                    array_schedule,
                    fold_arrays,
                    fold_plan,
                    schedule,
                    tile_sums,
                    traffic_arrays,
)
from ._geometry import ifmap_shape, touched_ifmap_words, windows_overlap
from ._limits import MAX_OPERAND_WORDS, check_layer_fits

__all__ = ["DATAFLOW_CODE", "DEFAULT_CHUNK_ROWS", "DemandChunk", "FoldPlan", "MAX_OPERAND_WORDS",
           "STATIONARY", "Schedule", "array_schedule", "check_layer_fits", "fold_arrays", "fold_plan",
           "geometry", "ifmap_shape", "iter_demand", "schedule", "touched_ifmap_words",
           "tile_sums", "traffic_arrays", "windows_overlap"]
