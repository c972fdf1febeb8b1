"""Trace summaries and bandwidth over time: exact values, chunk independence, the plot."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hwloop.traces import (
    STREAM_NAMES,
    InputError,
    TraceWriter,
    _trace_summary,
    bandwidth_over_time,
    import_scalesim_csv,
    plot_bandwidth,
    summarize_trace,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "scalesim_traces"


def _hand_built(path):
    with TraceWriter(path) as writer:
        layer = writer.add_layer(0, "a")
        layer.append("sram/cycle", np.array([0, 1, 2, 3]))
        layer.append("sram/ifmap_read", np.array([[0, -1], [1, 2], [-1, -1], [2, 3]]))
        layer.append("dram/ofmap_write/address", np.array([5, 6, -1, 7, 8, 9]))
        layer.append("dram/ofmap_write/cycle", np.array([3, 3, 4, 7, 7, 7]))
        other = writer.add_layer(1, "b")
        other.append("sram/cycle", np.array([0, 1]))
        other.append("sram/ofmap_write", np.array([[-1], [-1]]))  # no access at all
    return path


@pytest.mark.parametrize("rows", [65536, 1, 2, 5])
def test_summary_of_a_hand_built_trace(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(_trace_summary, "_ROWS", rows)
    frame = summarize_trace(_hand_built(tmp_path / "t.h5"))
    assert list(frame.columns) == ["layer", "layer_name", "stream", "accesses", "footprint",
                                   "first_cycle", "last_cycle", "avg_bandwidth",
                                   "peak_bandwidth"]
    assert frame[["layer", "layer_name", "stream"]].values.tolist() == [
        [0, "a", "ifmap_sram_read"], [0, "a", "ofmap_dram_write"], [1, "b", "ofmap_sram_write"]]
    ifmap, dram, empty = (row._asdict() for row in frame.drop(
        columns=["layer", "layer_name", "stream"]).itertuples(index=False))
    # ifmap reads happen one cycle after their row (cycles 1, 2, 4), 5 words, 4 addresses
    assert ifmap == {"accesses": 5, "footprint": 4, "first_cycle": 1, "last_cycle": 4,
                     "avg_bandwidth": 1.25, "peak_bandwidth": 2}
    # the -1 record marks a cycle without a word: it is not an access
    assert dram == {"accesses": 5, "footprint": 5, "first_cycle": 3, "last_cycle": 7,
                    "avg_bandwidth": 1.0, "peak_bandwidth": 3}
    assert empty["accesses"] == 0 and empty["footprint"] == 0 and empty["peak_bandwidth"] == 0
    assert pd.isna(empty["first_cycle"]) and pd.isna(empty["last_cycle"])
    assert frame.attrs["units"]["avg_bandwidth"] == "words/cycle"


@pytest.mark.parametrize("case", ["tiny_os", "small_os_stalls"])
def test_summary_agrees_with_scalesims_access_report(tmp_path, case):
    trace = import_scalesim_csv(DATA / case, tmp_path / "t.h5")
    frame = summarize_trace(trace).set_index("stream")
    report = pd.read_csv(DATA / case / "DETAILED_ACCESS_REPORT.csv", skipinitialspace=True)
    report = report.iloc[0]
    for operand, stream in (("IFMAP", "ifmap_sram_read"), ("Filter", "filter_sram_read")):
        assert frame.loc[stream, "accesses"] == report[f"SRAM {operand} Reads"]
        assert frame.loc[stream, "first_cycle"] == report[f"SRAM {operand} Start Cycle"]
        assert frame.loc[stream, "last_cycle"] == report[f"SRAM {operand} Stop Cycle"]
    assert frame.loc["ofmap_sram_write", "first_cycle"] == report["SRAM OFMAP Start Cycle"]
    assert frame.loc["ofmap_sram_write", "last_cycle"] == report["SRAM OFMAP Stop Cycle"]
    for operand, stream in (("IFMAP", "ifmap_dram_read"), ("Filter", "filter_dram_read"),
                            ("OFMAP", "ofmap_dram_write")):
        kind = "Writes" if operand == "OFMAP" else "Reads"
        assert frame.loc[stream, "accesses"] == report[f"DRAM {operand} {kind}"]
        assert frame.loc[stream, "first_cycle"] == report[f"DRAM {operand} Start Cycle"]
    if case == "tiny_os":  # 4x4 OS with 10 words per DRAM row
        assert frame["peak_bandwidth"].tolist() == [4, 4, 4, 10, 10, 4]
        assert frame.loc["ifmap_sram_read", "footprint"] == 72


def test_bandwidth_over_time_bins(tmp_path):
    trace = _hand_built(tmp_path / "t.h5")
    starts, rate = bandwidth_over_time(trace, 0, "ofmap_dram_write", bins=5)
    assert starts.tolist() == [3, 4, 5, 6, 7] and rate.tolist() == [2, 0, 0, 0, 3]
    starts, rate = bandwidth_over_time(trace, 0, "ofmap_dram_write", bins=2)
    assert starts.tolist() == [3, 6]  # cycles 3-5 and 6-7
    assert rate.tolist() == pytest.approx([2 / 3, 3 / 2])
    starts, rate = bandwidth_over_time(trace, 0, "ofmap_dram_write", bins=50)
    assert len(starts) == 5  # never narrower than one cycle
    starts, rate = bandwidth_over_time(trace, 0, "ifmap_sram_read", bins=4)
    assert starts.tolist() == [1, 2, 3, 4] and rate.tolist() == [1, 2, 0, 2]
    starts, rate = bandwidth_over_time(trace, 1, "ofmap_sram_write", bins=4)
    assert len(starts) == len(rate) == 0


def test_bandwidth_over_time_conserves_words(tmp_path):
    trace = import_scalesim_csv(DATA / "small_os_stalls", tmp_path / "t.h5")
    frame = summarize_trace(trace).set_index("stream")
    for stream in STREAM_NAMES:
        starts, rate = bandwidth_over_time(trace, 0, stream, bins=37)
        widths = np.diff(np.append(starts, frame.loc[stream, "last_cycle"] + 1))
        assert np.sum(rate * widths) == pytest.approx(frame.loc[stream, "accesses"])


@pytest.mark.parametrize("args, field", [((0, "ifmap_sram_write", 10), "stream"),
                                         ((0, "filter_dram_read", 10), "stream"),
                                         ((7, "ifmap_sram_read", 10), "layer_index"),
                                         ((0, "ifmap_sram_read", 0), "bins")])
def test_bandwidth_over_time_bad_arguments(tmp_path, args, field):
    with pytest.raises(InputError, match=f"field '{field}'"):
        bandwidth_over_time(_hand_built(tmp_path / "t.h5"), *args)


def test_plot_bandwidth_of_a_layer(tmp_path):
    from matplotlib.figure import Figure

    figure = plot_bandwidth(_hand_built(tmp_path / "t.h5"), layer_index=0, bins=10)
    assert isinstance(figure, Figure)
    assert figure.get_suptitle() == "t.h5: layer 0 (a)"
    sram, dram = figure.axes
    assert [patch.get_label() for patch in sram.patches] == ["ifmap_sram_read"]
    assert [patch.get_label() for patch in dram.patches] == ["ofmap_dram_write"]
    values, edges, _ = dram.patches[0].get_data()
    assert edges.tolist() == [3, 4, 5, 6, 7, 8] and values.tolist() == [2, 0, 0, 0, 3]
    assert list(tmp_path.iterdir()) == [tmp_path / "t.h5"]  # nothing saved


def test_plot_bandwidth_puts_layers_back_to_back(tmp_path):
    path = tmp_path / "t.h5"
    with TraceWriter(path) as writer:
        for index, cycles in ((0, [0, 1, 2, 3]), (1, [10, 11])):
            layer = writer.add_layer(index, f"l{index}")
            layer.append("sram/cycle", np.array(cycles))
            layer.append("sram/ifmap_read", np.ones((len(cycles), 2), dtype=np.int32))
    figure = plot_bandwidth(path, bins=3)
    first, second = figure.axes[0].patches
    assert first.get_data()[1].tolist() == [1, 3, 4, 5]  # reads at cycles 1..4
    assert second.get_data()[1].tolist() == [5, 6, 7]  # cycles 11..12, shifted to follow
    legend = figure.axes[0].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == ["ifmap_sram_read"]  # once
    assert len(figure.axes[0].lines) == 1  # the dotted mark where layer 1 starts


def test_summary_progress_counts_every_record(tmp_path, monkeypatch):
    made = []

    class Bar:
        def __init__(self, show, total, unit, desc, *, scale=False):
            self.show, self.total, self.n = show, total, 0
            made.append(self)

        def update(self, n=1):
            self.n += n

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    monkeypatch.setattr(_trace_summary, "progress_bar", Bar)
    monkeypatch.setattr(_trace_summary, "_ROWS", 2)
    summarize_trace(_hand_built(tmp_path / "t.h5"), progress=True)
    (bar,) = made
    assert bar.show and bar.n == bar.total == 4 + 6 + 2  # ifmap rows, DRAM records, ofmap rows
