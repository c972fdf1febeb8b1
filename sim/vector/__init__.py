"""The vector unit's model: operators without MACs as report rows (``docs/vector-unit.md``).

Imports ``arrays`` (for the buffers' and DRAM's energy) and ``report``; ``engine`` places
its rows between the layers'.
"""
from ._model import VECTOR_BREAKDOWN_KEYS, price_vector_row, simulate_vector_op, vector_cycles

__all__ = ["VECTOR_BREAKDOWN_KEYS", "price_vector_row", "simulate_vector_op", "vector_cycles"]
