"""A slow, literal reading of docs/memory-timing.md: the pipe rules, one event at a time.

Only the tests use it, to check the Numba kernel ``_pipe_timing`` and anything built on it.
"""
from __future__ import annotations

import math


def pipe_timing(ifmap, filt, ofmap, bandwidths, latency):
    """``ifmap``/``filt``: lists of (need_row, words); ``ofmap``: list of (start_row,
    fill_row, words). Returns (stall, [(row, stall after)], starts per operand)."""
    events = []  # (row, order, index, operand)
    for k, (row, _) in enumerate(ifmap):
        events.append((row, 0, k, "ifmap"))
    for k, (row, _) in enumerate(filt):
        events.append((row, 1, k, "filter"))
    for j, (start, fill, _) in enumerate(ofmap):
        # chunk j's start after the fills of chunks up to j-2 in its row (a half is reused
        # only once its previous chunk has filled), then the row's remaining fills
        events.append((start, 2, 2 * j - 3, "start"))
        events.append((fill, 2, 2 * j, "fill"))
    events.sort()
    d = {"ifmap": [math.ceil(w / bandwidths[0]) for _, w in ifmap],
         "filter": [math.ceil(w / bandwidths[1]) for _, w in filt],
         "ofmap": [math.ceil(w / bandwidths[2]) for _, _, w in ofmap]}
    starts = {"ifmap": [None] * len(ifmap), "filter": [None] * len(filt),
              "ofmap": [None] * len(ofmap)}
    released = {"ifmap": None, "filter": None}
    stall = 0
    history = []
    for row in sorted({e[0] for e in events}):
        before = stall
        for _, order, key, what in [e for e in events if e[0] == row]:
            k = key if order < 2 else (key + 3) // 2 if what == "start" else key // 2
            if what in ("ifmap", "filter"):
                dk = d[what][k]
                if k == 0:
                    s = row + stall - (dk - 1) - latency
                else:
                    s = max(starts[what][k - 1] + d[what][k - 1], released[what])
                starts[what][k] = s
                stall = max(stall, s + dk - 1 + latency - row)
                released[what] = row + stall
            elif what == "start":
                if k >= 2:
                    stall = max(stall, starts["ofmap"][k - 2] + d["ofmap"][k - 2] - row)
            else:
                free = starts["ofmap"][k - 1] + d["ofmap"][k - 1] if k else -10**18
                starts["ofmap"][k] = max(row + stall, free)
        if stall > before:
            history.append((row, stall))
    return stall, history, (starts["ifmap"], starts["filter"], starts["ofmap"])
