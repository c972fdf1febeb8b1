"""SCALE-Sim v3's fixed-bandwidth (USER) mode: ``simulate_scalesim_user`` against SCALE-Sim.

* Golden: every integer the replica returns equals SCALE-Sim's, on the harness runs in
  ``tests/data/golden_user`` (made by ``tests/data/regenerate_golden_user.py``). Depthwise
  layers are one row here and ``channels`` rows in SCALE-Sim: counts are summed, DRAM
  start/stop cycles are the same for every channel.
* Naive: the Numba kernels equal a slow, literal Python port of SCALE-Sim's ``read_buffer``
  (prefetch matrices built and diagonally re-ordered as ``systolic_compute_*`` does, Python
  sets for the hashed buffer) and ``write_buffer`` on small random layers, with and without
  the stall defect.
* Defect: fixing SCALE-Sim's double-counted prefetch stall never adds stall cycles and
  leaves the DRAM reads alone.
"""
from __future__ import annotations

import importlib.util
import json
import math
import pathlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwloop.arch import Accelerator, Dram, Sram, SystolicArray
from hwloop.sim.memory import simulate_scalesim_user
from hwloop.traces import InputError, Layer, load_topology

_spec = importlib.util.spec_from_file_location(
    "hwloop_tests_naive", pathlib.Path(__file__).resolve().parents[1] / "naive.py")
naive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive)

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
GOLDEN = sorted((DATA / "golden_user").glob("*.json"))
COUNTS = ("total_cycles", "stall_cycles", "total_cycles_incl_prefetch",
          "dram_ifmap_reads", "dram_filter_reads", "dram_ofmap_writes")
EDGES = tuple(f"dram_{op}_{edge}" for op in ("ifmap", "filter", "ofmap")
              for edge in ("start", "stop"))
READ_SIDE = ("dram_ifmap_reads", "dram_filter_reads", "ifmap_prefetches", "filter_prefetches",
             "dram_ifmap_start", "dram_ifmap_stop", "dram_filter_start", "dram_filter_stop")


# --------------------------------------------------------------------------------------------
# A literal port of SCALE-Sim's USER-mode memory system (slow; small layers only)
# --------------------------------------------------------------------------------------------

def _diagonal(mat: np.ndarray) -> list:
    """``create_*_prefetch_mat``'s roll-out: anti-diagonals, each from bottom-left up."""
    m, n = mat.shape
    out = []
    for diag in range(m + n):
        top, bottom = max(0, diag - n + 1), min(diag, m - 1)
        out += [mat[row, diag - row] for row in range(bottom, top - 1, -1)]
    return out


def prefetch_sequences(ifmap, filt, rows, cols, dataflow):
    """(ifmap, filter) prefetch matrices, flattened in the order the fetch matrix takes them."""
    def folds(mat, edge):  # column folds padded to the array edge, stacked vertically
        return np.concatenate([naive._pad(mat[:, c0:c0 + edge], mat.shape[0], edge)
                               for c0 in range(0, mat.shape[1], edge)], axis=0)

    if dataflow == "os":
        return _diagonal(folds(ifmap.T, rows)), _diagonal(folds(filt, cols))
    if dataflow == "ws":
        return _diagonal(folds(ifmap, rows)), folds(filt, cols).ravel().tolist()
    return folds(ifmap.T, cols).ravel().tolist(), _diagonal(folds(filt.T, rows))


class NaiveReadBuffer:
    """``read_buffer`` with layouts and Ramulator off; the read port answers after 1 cycle."""

    def __init__(self, words: int, bw: int, sequence: list, fix: bool):
        self.active = math.ceil(words * 0.5)
        self.prefetch = words - self.active
        self.bw, self.fix = bw, fix
        self.fetch_rows = math.ceil(len(sequence) / bw)
        per_set = math.ceil(words / 100)
        self.sets, current, count = [], set(), 0
        for elem in sequence:                              # prepare_hashed_buffer
            if elem != -1:
                current.add(elem)
                count += 1
            if count >= per_set:
                self.sets.append(current)
                current, count = set(), 0
        self.sets.append(current)
        self.n_active = min(math.ceil(self.active / per_set), len(self.sets))
        self.n_prefetch = min(math.ceil(self.prefetch / per_set), len(self.sets) - self.n_active)
        self.window = None
        self.reads = self.prefetches = 0
        self.cycles: list[int] = []

    def _issue(self, requests: list[int]) -> None:
        self.cycles += [c + 1 for c in requests]           # read port latency 1
        self.last = max(self.cycles)

    def _hit(self, addr) -> bool:
        start, end = self.window
        ids = range(start, end) if start < end else [*range(start, len(self.sets)), *range(end)]
        return any(addr in self.sets[i] for i in ids)

    def _new_prefetch(self) -> None:
        start = (self.window[0] + self.n_prefetch) % len(self.sets)
        self.window = (start, (start + self.n_active) % len(self.sets))
        lines = math.ceil(self.prefetch / self.bw)
        self.reads += lines * self.bw
        self._issue([self.last + i + 1 for i in range(lines)])
        self.prefetches += 1

    def serve(self, row, cycle: int) -> int:
        """``service_reads`` for one row: the cycle it completes."""
        if self.window is None:                            # prefetch_active_buffer
            lines = min(math.ceil(self.active / self.bw), self.fetch_rows)
            self.reads += lines * self.bw
            self._issue([-(lines - cycle - (i - 1)) for i in range(lines)])
            self.window = (0, self.n_active)
        offset = 1
        for addr in row:
            if addr == -1:
                continue
            for _ in range(len(self.sets) + 2):
                if self._hit(addr):
                    break
                self._new_prefetch()
                potential = self.last - (cycle + offset)
                if not self.fix:
                    offset += potential
                if potential > 0:
                    offset += potential
            else:
                raise AssertionError(f"{addr} is never in the active window")
        return cycle + offset


class TracedWriteBuffer(naive.LineWriteBuffer):
    """The naive ``write_buffer``, also recording the DRAM cycles of every drain."""

    def __init__(self, words: int, line_words: int):
        super().__init__(words, line_words)
        self.cycles: list[int] = []

    def _drain(self, start: int) -> int:
        end = super()._drain(start)
        self.cycles += [start, end]
        return end


def naive_user(layer, rows, cols, dataflow, kb, bws, fix=False) -> dict:
    """The naive USER-mode run: the same keys as ``simulate_scalesim_user``."""
    groups, params = naive._layer_params(layer)
    ifmap, filt, ofmap = naive.operand_matrices(*params)
    d = naive.demand_matrices(ifmap, filt, ofmap, rows, cols, dataflow)
    seqs = prefetch_sequences(ifmap, filt, rows, cols, dataflow)
    bufs = [NaiveReadBuffer(kb[i] * 1024, bws[i], seqs[i], fix) for i in (0, 1)]
    wbuf = TracedWriteBuffer(kb[2] * 1024, bws[2])
    stalls, outs = 0, []
    for i, (r_if, r_f, r_o) in enumerate(zip(d["ifmap"].tolist(), d["filter"].tolist(),
                                             d["ofmap"].tolist())):
        cycle = i + stalls
        s_if = bufs[0].serve(r_if, cycle) - cycle - 1
        s_f = bufs[1].serve(r_f, cycle) - cycle - 1
        outs.append(wbuf.write_row(cycle, r_o))
        stalls += max(s_if, s_f, outs[-1] - cycle)
    writes = wbuf.finish(outs[-1])
    res = {"total_cycles": groups * max(outs), "stall_cycles": groups * stalls,
           "dram_ofmap_writes": groups * writes,
           "dram_ofmap_start": min(wbuf.cycles), "dram_ofmap_stop": max(wbuf.cycles)}
    for op, buf in zip(("ifmap", "filter"), bufs):
        res.update({f"dram_{op}_reads": groups * buf.reads, f"{op}_prefetches": groups * buf.prefetches,
                    f"dram_{op}_start": min(buf.cycles), f"dram_{op}_stop": max(buf.cycles)})
    first = min(res["dram_ifmap_start"], res["dram_filter_start"])
    res["total_cycles_incl_prefetch"] = groups * (res["dram_ofmap_stop"] - first)
    return res


# --------------------------------------------------------------------------------------------
# Golden: SCALE-Sim itself
# --------------------------------------------------------------------------------------------

def _accel(rows, cols, dataflow, kb, bws) -> Accelerator:
    return Accelerator(array=SystolicArray(rows=rows, cols=cols, dataflow=dataflow),
                       sram=Sram(ifmap_kb=kb[0], filter_kb=kb[1], ofmap_kb=kb[2]),
                       dram=Dram(ifmap_bandwidth=bws[0], filter_bandwidth=bws[1],
                                 ofmap_bandwidth=bws[2]))


def _golden(path: pathlib.Path):
    """(accelerator, [(layer, SCALE-Sim's numbers in the replica's keys)]) of one golden run."""
    golden = json.loads(path.read_text())
    cfg = golden["config"]
    accel = _accel(cfg["rows"], cfg["cols"], cfg["dataflow"],
                   (cfg["ifmap_kb"], cfg["filter_kb"], cfg["ofmap_kb"]),
                   (cfg["ifmap_bw"], cfg["filter_bw"], cfg["bw"]))
    by_name = {layer["name"]: layer for layer in golden["layers"]}
    cases = []
    for layer in load_topology(DATA / "topologies" / pathlib.Path(cfg["topology"]).name):
        parts = ([by_name[f"{layer.name}Channel_{c}"] for c in range(layer.channels)]
                 if layer.kind.value == "depthwise" else [by_name[layer.name]])
        want = {key: sum(part[key] for part in parts) for key in COUNTS}
        for op in ("ifmap", "filter", "ofmap"):
            edges = {tuple(part["dram_start_stop"][op]) for part in parts}
            assert len(edges) == 1, f"channels of {layer.name} differ in {op} DRAM cycles"
            want[f"dram_{op}_start"], want[f"dram_{op}_stop"] = edges.pop()
        cases.append((layer, want))
    return accel, cases


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_matches_scalesim_user_mode(path):
    accel, cases = _golden(path)
    for layer, want in cases:
        got = simulate_scalesim_user(layer, accel)
        for key in COUNTS + EDGES:
            assert got[key] == want[key], f"{path.stem} {layer.name} {key}: {got[key]} != {want[key]}"


def test_golden_cases_stall():
    """The golden set exercises stalls from every buffer kind on every dataflow."""
    assert len(GOLDEN) >= 24
    stalled = {json.loads(p.read_text())["config"]["dataflow"] for p in GOLDEN
               if any(layer["stall_cycles"] for layer in json.loads(p.read_text())["layers"])}
    assert stalled == {"os", "ws", "is"}


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_fixing_the_defect_never_adds_stalls(path):
    accel, cases = _golden(path)
    for layer, _ in cases:
        buggy = simulate_scalesim_user(layer, accel)
        fixed = simulate_scalesim_user(layer, accel, fix_stall_defect=True)
        assert 0 <= fixed["stall_cycles"] <= buggy["stall_cycles"], layer.name
        assert fixed["total_cycles"] - fixed["stall_cycles"] == buggy["compute_cycles"]
        for key in READ_SIDE:  # prefetches follow the demand order, not its timing
            assert fixed[key] == buggy[key], f"{layer.name} {key}"


@pytest.mark.parametrize("dataflow, stalls, fixed", [("os", 42272, 40248), ("ws", 41248, 39320),
                                                     ("is", 5777, 5777)])
def test_golden_gemm_defect_share(dataflow, stalls, fixed):
    """SCALE-Sim's CI GEMM (256x128x256) at 32x32, 10 words/cycle: the defect's share."""
    accel = _accel(32, 32, dataflow, (64, 64, 64), (10, 10, 10))
    layer = Layer.gemm("Test 1", 256, 128, 256)
    assert simulate_scalesim_user(layer, accel)["stall_cycles"] == stalls
    assert simulate_scalesim_user(layer, accel, fix_stall_defect=True)["stall_cycles"] == fixed


def test_needs_every_bandwidth():
    accel = Accelerator(dram=Dram(ifmap_bandwidth=4, filter_bandwidth=4))
    with pytest.raises(InputError, match="ofmap_bandwidth"):
        simulate_scalesim_user(Layer.gemm("g", 8, 8, 8), accel)


# --------------------------------------------------------------------------------------------
# Naive: the kernels against the literal port
# --------------------------------------------------------------------------------------------

def check_against_naive(layer, rows, cols, dataflow, kb, bws):
    accel = _accel(rows, cols, dataflow, kb, bws)
    for fix in (False, True):
        want = naive_user(layer, rows, cols, dataflow, kb, bws, fix)
        got = simulate_scalesim_user(layer, accel, fix_stall_defect=fix)
        for key, value in want.items():
            assert got[key] == value, (f"{key}: kernel {got[key]} != naive {value} for {layer!r} "
                                       f"{rows}x{cols} {dataflow} kb={kb} bw={bws} fix={fix}")


def conv(name, h, w, fh, fw, c, n, s=1, kind="conv"):
    return Layer(name=name, ifmap_h=h, ifmap_w=w, filter_h=fh, filter_w=fw, channels=c,
                 num_filters=n, stride_h=s, stride_w=s, kind=kind)


CASES = [
    (conv("c3x3", 12, 12, 3, 3, 6, 10), 4, 4, "os", (1, 1, 1), (3, 3, 3)),
    (conv("c3x3", 12, 12, 3, 3, 6, 10), 4, 4, "ws", (1, 1, 1), (2, 5, 1)),
    (conv("c3x3", 12, 12, 3, 3, 6, 10), 4, 4, "is", (1, 1, 1), (7, 2, 4)),
    (conv("s3_partial", 11, 11, 3, 3, 5, 7, 3), 3, 4, "os", (1, 1, 1), (1, 1, 1)),
    (conv("s3_partial", 11, 11, 3, 3, 5, 7, 3), 3, 4, "is", (1, 1, 1), (2, 2, 2)),
    (Layer.gemm("gemm_big_k", 30, 10, 40), 4, 4, "os", (1, 1, 1), (6, 6, 6)),
    (Layer.gemm("gemm_big_k", 30, 10, 40), 3, 8, "ws", (1, 1, 1), (6, 6, 6)),
    (Layer.gemm("gemm_wide_n", 12, 60, 20), 5, 5, "is", (1, 1, 1), (4, 4, 4)),
    (conv("dw3x3", 12, 12, 3, 3, 4, 1, kind="depthwise"), 4, 4, "os", (1, 1, 1), (1, 1, 1)),
]


SMALL_GOLDEN = [p for p in GOLDEN if not p.name.startswith("gemm_golden")]


@pytest.mark.parametrize("path", SMALL_GOLDEN, ids=[p.stem for p in SMALL_GOLDEN])
def test_naive_port_matches_scalesim(path):
    """The reference itself reproduces SCALE-Sim where it is fast enough to run."""
    cfg = json.loads(path.read_text())["config"]
    kb = (cfg["ifmap_kb"], cfg["filter_kb"], cfg["ofmap_kb"])
    bws = (cfg["ifmap_bw"], cfg["filter_bw"], cfg["bw"])
    for layer, want in _golden(path)[1]:
        got = naive_user(layer, cfg["rows"], cfg["cols"], cfg["dataflow"], kb, bws)
        assert {key: got[key] for key in want} == want, f"{path.stem} {layer.name}"


@pytest.mark.parametrize("layer, rows, cols, dataflow, kb, bws", CASES,
                         ids=[f"{c[0].name}-{c[1]}x{c[2]}-{c[3]}" for c in CASES])
def test_fixed_cases_match_naive(layer, rows, cols, dataflow, kb, bws):
    check_against_naive(layer, rows, cols, dataflow, kb, bws)


@st.composite
def small_cases(draw):
    rows, cols = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    dataflow = draw(st.sampled_from(naive.DATAFLOWS))
    kb = draw(st.tuples(*[st.sampled_from([1, 1, 2])] * 3))
    bws = draw(st.tuples(*[st.integers(1, 12)] * 3))
    if draw(st.booleans()):
        layer = Layer.gemm("g", draw(st.integers(1, 40)), draw(st.integers(1, 30)),
                           draw(st.integers(1, 40)))
    else:
        h, w = draw(st.integers(3, 12)), draw(st.integers(3, 12))
        layer = conv("c", h, w, draw(st.integers(1, min(h, 4))), draw(st.integers(1, min(w, 4))),
                     draw(st.integers(1, 6)), draw(st.integers(1, 10)), draw(st.integers(1, 3)),
                     kind=draw(st.sampled_from(["conv", "conv", "depthwise"])))
    return layer, rows, cols, dataflow, kb, bws


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=small_cases())
def test_random_layers_match_naive(case):
    check_against_naive(*case)
