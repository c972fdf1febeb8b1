"""The closed-form inverse of a skewed fold's demand count, against counting it out.

A fold of ``lines`` x ``temporal`` delays line ``c`` by ``c`` steps; the ``m``-th demand's
step is found here by listing every demand in step order (the slow reference).
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hwloop.sim.kernels._skew import _step_of_demand


def steps_in_order(lines: int, temporal: int) -> list[int]:
    """The step of every demand of the fold, in order (line ``c`` busy at ``c .. c+T-1``)."""
    return sorted(c + t for c in range(lines) for t in range(temporal))


@settings(max_examples=300, deadline=None)
@given(lines=st.integers(1, 40), temporal=st.integers(1, 60), data=st.data())
def test_step_of_demand_matches_counting(lines, temporal, data):
    steps = steps_in_order(lines, temporal)
    m = data.draw(st.integers(1, len(steps)))
    assert _step_of_demand(m, lines, temporal) == steps[m - 1]


def test_every_demand_of_some_folds():
    for lines, temporal in ((1, 1), (1, 9), (9, 1), (5, 5), (3, 8), (8, 3), (32, 1024)):
        steps = steps_in_order(lines, temporal)
        assert [_step_of_demand(m, lines, temporal) for m in range(1, len(steps) + 1)] == steps


def test_large_folds_at_their_edges():
    """Counts near 2**40 stay exact (the square root is corrected to the integer)."""
    lines, temporal = 1 << 20, 1 << 21
    total = lines * temporal
    assert _step_of_demand(total, lines, temporal) == lines + temporal - 2
    assert _step_of_demand(1, lines, temporal) == 0
    up = lines * (lines + 1) // 2
    assert _step_of_demand(up, lines, temporal) == lines - 1
    assert _step_of_demand(up + 1, lines, temporal) == lines
