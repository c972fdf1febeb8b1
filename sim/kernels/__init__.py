"""All ``@njit`` code. Kernels are private, take only arrays and scalars, and are pure.

The rest of ``sim`` reaches them through the names below (each a kernel under its public
name); ``tests/`` holds a slow reference for each (see ``docs/architecture.md``).
"""
from . import _scalesim_user as scalesim_user
from ._bitset_buffer import _ifmap_rows as ifmap_rows
from ._cache import on_first_compile
from ._closed_events import _distinct_blocks as distinct_blocks
from ._closed_events import _run_layout as run_layout
from ._closed_events import _run_words as run_words
from ._closed_events import _write_chunks as write_chunks
from ._demand import _fill_demand as fill_demand
from ._distinct_stream import _distinct_ifmap_fetches as distinct_ifmap_fetches
from ._distinct_stream import _filter_fetches as filter_fetches
from ._event_pieces import _expand as expand_pieces
from ._event_pieces import _four_streams as four_streams
from ._mapping_bounds import _mapping_bounds as mapping_bounds
from ._memory import ACTIVE_SETS, FETCHED, HALF, PER_SET, PREFETCH_SETS, READ_END, WRITTEN
from ._memory import _pipe_timing as pipe_timing
from ._memory import _walk_reads as walk_reads
from ._memory import _walk_writes as walk_writes
from ._nest_events import _nest_events as nest_events
from ._periodic_pipe import _periodic_pipe as periodic_pipe
from ._periodic_pipe import workspace as periodic_workspace
from ._write_buffer import _scalesim_ofmap_drain as scalesim_ofmap_drain

__all__ = ["ACTIVE_SETS", "FETCHED", "HALF", "PER_SET", "PREFETCH_SETS", "READ_END", "WRITTEN",
           "distinct_blocks", "distinct_ifmap_fetches", "expand_pieces", "fill_demand",
           "filter_fetches", "four_streams", "ifmap_rows", "mapping_bounds", "nest_events",
           "on_first_compile", "periodic_pipe", "periodic_workspace", "pipe_timing", "run_layout",
           "run_words", "scalesim_ofmap_drain", "scalesim_user", "walk_reads", "walk_writes", "write_chunks"]
