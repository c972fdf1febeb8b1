"""Explicit mappings: a layer tiled at the DRAM level with its own loop order and dataflow,
its costs in closed form and its transfers timed by the memory system, and the mapper that
picks one per layer (``docs/mappings.md``)."""
from ._costs import DEPENDS, compute_counts, dram_words, tile_costs, visits
from ._events import MAX_TIMED_STEPS, mapped_events
from ._mapper import MAPPER_OBJECTIVES, best_mapping, objective_of
from ._nest import CONV_TILES, GEMM_TILES, LoopNest, loop_nest, resolve_tiles
from ._simulate import check_fits, mapped_layer_row, mapped_row, nest_for, simulate_mapped_layer

__all__ = ["CONV_TILES", "DEPENDS", "GEMM_TILES", "LoopNest", "MAPPER_OBJECTIVES", "MAX_TIMED_STEPS",
           "best_mapping", "check_fits", "mapped_layer_row", "objective_of",
           "compute_counts", "dram_words", "loop_nest", "mapped_events", "mapped_row", "nest_for",
           "resolve_tiles", "simulate_mapped_layer", "tile_costs", "visits"]
