"""The bytes-bounded memo keeps the most recently used values within its budget."""
from __future__ import annotations

from hwloop.sim.memory import BytesLRU


def test_least_recently_used_values_go_first_once_over_budget():
    memo = BytesLRU(budget=100)
    memo.put("a", 1, 40)
    memo.put("b", 2, 40)
    assert memo.get("a") == 1  # "b" is now the least recently used
    memo.put("c", 3, 40)
    assert memo.get("b") is None and memo.get("a") == 1 and memo.get("c") == 3
    assert (memo.hits, memo.misses) == (3, 1)
    memo.put("a", 4, 90)  # replacing a value counts its new size only
    assert len(memo) == 1 and memo.get("a") == 4


def test_a_value_larger_than_the_budget_is_still_kept_alone():
    memo = BytesLRU(budget=10)
    memo.put("small", 0, 5)
    memo.put("big", 1, 50)
    assert len(memo) == 1 and memo.get("big") == 1
    memo.clear()
    assert len(memo) == 0 and memo.get("big") is None
