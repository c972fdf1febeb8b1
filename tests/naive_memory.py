"""A slow, literal reading of docs/memory-timing.md: the pipe rules, one event at a time.

Only the tests use it, to check the Numba kernel ``_pipe_timing`` and anything built on it.
"""
from __future__ import annotations

import math


def pipe_timing(ifmap, filt, ofmap, bandwidths, latency, psum=None):
    """``ifmap``/``filt``: lists of (need_row, words); ``ofmap``: list of (start_row,
    fill_row, words); ``psum`` (explicit mappings' partial-sum read-backs, optional): list of
    (issue_row, need_row, words), issue rows and need rows each in order and every read-back
    issued before the row that needs it.

    Returns (stall, [(row, stall after)], starts per operand): ifmap, filter, ofmap starts,
    and the read-backs' starts too when ``psum`` is given.
    """
    psum_given = psum is not None
    psum = list(psum or [])
    for issue, need, _ in psum:
        if not issue < need:
            raise ValueError(f"a read-back must be issued before it is needed, got "
                             f"issue row {issue}, need row {need}")
    for column in (0, 1):
        rows_in_order = [p[column] for p in psum]
        if rows_in_order != sorted(rows_in_order):
            raise ValueError("read-backs must be issued, and needed, in order")
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
         "ofmap": [math.ceil(w / bandwidths[2]) for _, _, w in ofmap],
         "psum": [math.ceil(w / bandwidths[2]) for _, _, w in psum]}  # the ofmap port
    starts = {"ifmap": [None] * len(ifmap), "filter": [None] * len(filt),
              "ofmap": [None] * len(ofmap), "psum": [None] * len(psum)}
    released = {"ifmap": None, "filter": None}
    ofmap_port_free = -10**18  # drains and read-backs share the ofmap port
    stall = 0
    history = []
    rows = {e[0] for e in events} | {p[0] for p in psum} | {p[1] for p in psum}
    for row in sorted(rows):
        before = stall
        in_row = [e for e in events if e[0] == row]
        # read-backs needed here come after the row's read blocks and chunk starts (and the
        # fills that must precede those starts), before its remaining fills
        cut = 1 + max((i for i, e in enumerate(in_row) if e[3] != "fill"), default=-1)
        needed = [q for q, (_, need, _) in enumerate(psum) if need == row]
        phases = [("event", e) for e in in_row[:cut]]
        phases += [("need", q) for q in needed]
        phases += [("event", e) for e in in_row[cut:]]
        phases += [("issue", q) for q, (issue, _, _) in enumerate(psum) if issue == row]
        for phase, item in phases:
            if phase == "need":  # a read-back must have arrived
                usable = starts["psum"][item] + d["psum"][item] - 1 + latency
                stall = max(stall, usable - row)
                continue
            if phase == "issue":  # once the port is free, not before this row runs
                s = max(ofmap_port_free, row + stall)
                starts["psum"][item] = s
                ofmap_port_free = s + d["psum"][item]
                continue
            _, order, key, what = item
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
                starts["ofmap"][k] = max(row + stall, ofmap_port_free)
                ofmap_port_free = starts["ofmap"][k] + d["ofmap"][k]
        if stall > before:
            history.append((row, stall))
    out = (starts["ifmap"], starts["filter"], starts["ofmap"])
    return stall, history, (out + (starts["psum"],) if psum_given else out)
