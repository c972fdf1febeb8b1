"""What a new user sees: the plots' labels, legends and titles (checked on the figure's
structure, not its pixels) and the tables ``validate`` and ``analog-accuracy`` print."""
from __future__ import annotations

from importlib.util import find_spec

import pytest

from hwloop import arch
from hwloop.sim import plot_report, replay, simulate
from hwloop.sim.analytical import Prediction, compare, plot_validation
from hwloop.sim.cli import main
from hwloop.sim.report._plot import report_title, short_name
from hwloop.traces import Layer, Network, plot_bandwidth

_NEEDS_TORCH = pytest.mark.skipif(find_spec("torch") is None or find_spec("sklearn") is None,
                                  reason="analog-accuracy needs torch and scikit-learn")
LONG_NAME = "features.denseblock4.denselayer16.conv2"


def _layer(name: str, size: int = 10, filters: int = 16) -> Layer:
    return Layer(name=name, ifmap_h=size, ifmap_w=size, filter_h=3, filter_w=3, channels=8,
                 num_filters=filters, stride_h=1, stride_w=1)


NETWORK = Network(name="small", layers=(_layer("c1"), _layer(LONG_NAME, 12, 24)))


def _accel(**overrides):
    accel = arch.get_preset(arch.DEFAULT_PRESET)
    return accel.with_overrides(rows=8, cols=8, ifmap_kb=1, filter_kb=1, ofmap_kb=1, **overrides)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A run recorded with a narrow DRAM (so layers stall), and its trace file."""
    path = tmp_path_factory.mktemp("trace") / "run.h5"
    return simulate(NETWORK, _accel(bandwidth=2), trace=path), path


def _drawn(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure).draw()
    return figure


def _legend_clear_of(legend, axes) -> bool:
    """The legend's box lies outside the axes' box (above it or to its right)."""
    box, area = legend.get_window_extent(), axes.get_window_extent()
    return box.y0 >= area.y1 - 1 or box.x0 >= area.x1 - 1


def _styles(lines) -> set[tuple]:
    return {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines}


# ------------------------------------------------------------------ simulate's report plot

def test_report_plot_has_units_names_and_a_legend_off_the_data(recorded):
    report, _ = recorded
    figure = _drawn(plot_report(report))
    cycles_ax, util_ax = figure.axes
    assert "cycles" in cycles_ax.get_ylabel() and "%" in util_ax.get_ylabel()
    assert util_ax.get_xlabel() == "layer"
    assert figure.get_suptitle() == "small on 8x8 OS"
    labels = [tick.get_text() for tick in util_ax.get_xticklabels()]
    assert labels == ["c1", short_name(LONG_NAME)] and len(labels[1]) == 28
    assert labels[1].startswith("features") and labels[1].endswith("conv2")
    assert len(util_ax.lines) == 3 and len(_styles(util_ax.lines)) == 3
    assert len({line.get_linestyle() for line in util_ax.lines}) == 3  # not colour alone
    assert _legend_clear_of(util_ax.get_legend(), util_ax)
    ticks = [tick.get_text() for tick in cycles_ax.get_yticklabels()]
    assert any("," in text for text in ticks)  # 1,000s, no 1e6 offset
    assert cycles_ax.yaxis.get_offset_text().get_text() == ""


def test_report_plot_shades_memory_stalls(recorded):
    report, _ = recorded
    assert (report.layers["stall_cycles"] > 0).all()
    cycles_ax = _drawn(plot_report(report)).axes[0]
    assert len(cycles_ax.patches) == 2 * len(report.layers)
    legend = cycles_ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["computing", "stalled on memory"]
    assert _legend_clear_of(legend, cycles_ax)
    tops = [p.get_y() + p.get_height() for p in cycles_ax.patches[len(report.layers):]]
    assert tops == pytest.approx(list(report.layers["total_cycles"]))  # numbers unchanged


def test_replay_plot_says_what_if_and_with_which_settings(recorded):
    _, path = recorded
    what_if = replay(path, overrides={"bandwidth": 32, "ofmap_kb": 128})
    title = plot_report(what_if).get_suptitle()
    assert title.startswith("what-if replay of run.h5: small on 8x8 OS")
    assert "SRAM ifmap/filter/ofmap 1/1/128 KiB" in title
    assert "DRAM bandwidth 32 words/cycle, latency 0 cycles" in title
    assert plot_report(what_if, title="mine").get_suptitle() == "mine"


def test_report_title_names_each_memory_setting():
    accel = _accel(ifmap_bandwidth=4, dram_latency=20).to_dict()
    title = report_title({"workload": {"network": "n"}, "accelerator": accel,
                          "replayed_from": "/x/t.h5"})
    assert "DRAM bandwidth 4/unlimited/unlimited words/cycle, latency 20 cycles" in title
    device = report_title({"accelerator": _accel(dram_model="ddr4-3200").to_dict(),
                           "replayed_from": "t.h5"})
    assert "DRAM ddr4-3200" in device
    assert report_title({"workload": {"network": "n"}, "accelerator": accel}) == "n on 8x8 OS"


# ------------------------------------------------------------------ hwloop trace plot

def test_trace_plot_names_layers_and_keeps_its_legends_off_the_data(recorded):
    _, path = recorded
    figure = _drawn(plot_bandwidth(path, bins=20))
    sram, dram = figure.axes
    (names,) = sram.child_axes
    assert [t.get_text() for t in names.get_xticklabels()] == ["c1", LONG_NAME]
    assert len(sram.lines) == 1 and sram.lines[0].get_linestyle() == ":"  # layer 1 starts
    for axes in (sram, dram):
        assert _legend_clear_of(axes.get_legend(), axes)
        assert "words / cycle" in axes.get_ylabel()
    assert "cycle" in dram.get_xlabel()


def test_trace_plot_tells_ifmap_from_filter_by_colour_and_dash(recorded):
    _, path = recorded
    figure = plot_bandwidth(path, layer_index=0, bins=20)
    for axes in figure.axes:
        style = {p.get_label().split("_")[0]: (p.get_edgecolor(), p.get_linestyle())
                 for p in axes.patches}
        ifmap, filt = style["ifmap"], style["filter"]
        assert ifmap[0] != filt[0] and ifmap[1] != filt[1]
    assert figure.axes[0].child_axes == []  # one layer: no names along the top


def test_trace_plot_of_many_layers_stands_short_numbered_names_upright(tmp_path):
    import numpy as np

    from hwloop.traces import TraceWriter

    path = tmp_path / "many.h5"
    with TraceWriter(path) as writer:
        for index in range(9):
            layer = writer.add_layer(index, f"features.block{index}.conv.weight")
            layer.append("sram/cycle", np.arange(4))
            layer.append("sram/ifmap_read", np.ones((4, 2), dtype=np.int32))
    (names,) = plot_bandwidth(path, bins=2).axes[0].child_axes
    labels = names.get_xticklabels()
    assert [t.get_text() for t in labels[:2]] == ["0: features…ck0.conv.weight",
                                                  "1: features…ck1.conv.weight"]
    assert {t.get_rotation() for t in labels} == {90.0}


# ------------------------------------------------------------------ hwloop validate

VALIDATION = compare({"a": Prediction(110), "b": Prediction(180.5), "c": Prediction(400)},
                     {"a": Prediction(100), "b": Prediction(200), "c": Prediction(163855)},
                     source="model")


def test_validation_plot_is_log_log_in_cycles_with_a_labelled_y_equals_x():
    figure = _drawn(plot_validation(VALIDATION))
    (ax,) = figure.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert "(cycles" in ax.get_xlabel() and "(cycles" in ax.get_ylabel()
    assert "model" in ax.get_ylabel()
    (line,) = ax.lines
    assert line.get_label().startswith("y = x")
    texts = [t.get_text() for t in ax.texts]
    assert "y = x" in texts  # on the line itself, not only in the legend
    assert "c: -99.8%" in texts  # the worst layer, named
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend_texts == ["layers (3)", "y = x (exact prediction)"]


def test_validation_table_prints_whole_cycles_as_integers():
    lines = VALIDATION.table().splitlines()
    assert lines[0].split() == ["layer", "predicted", "simulated", "error_pct"]
    assert lines[1].split() == ["a", "110", "100", "10.00"]
    assert lines[2].split() == ["b", "180.50", "200", "-9.75"]
    assert lines[3].split() == ["c", "400", "163,855", "-99.76"]


def test_validate_cli_prints_no_fake_decimals(tmp_path, capsys):
    topology = tmp_path / "t.csv"
    topology.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                        "Channels, Num Filter, Strides,\nc1, 10, 10, 3, 3, 8, 16, 1,\n")
    assert main(["validate", "--analytical", "--topology", str(topology), "--rows", "8",
                 "--cols", "8"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == "c1" and "." not in row[1] and "." not in row[2]
    assert row[3] == "0.00"


# ------------------------------------------------------------------ hwloop analog-accuracy

def _accuracy():
    from hwloop.sim.noise import AccuracyOverTime

    return AccuracyOverTime(
        digital_accuracy=0.9759, times_s=(1.0, 86400.0), accuracy_mean=(0.97, 0.95),
        accuracy_std=(0.002, 0.01), accuracy_per_seed=((0.968, 0.972), (0.94, 0.96)),
        output_error_mean=(0.1, 0.2), seeds=(0, 1), noise={})


@_NEEDS_TORCH
def test_accuracy_table_has_times_mean_spread_and_the_baseline():
    lines = _accuracy().table().splitlines()
    assert "time after programming" in lines[0] and "std % over 2 seeds" in lines[0]
    assert lines[1].split() == ["1", "s", "97.00", "0.20", "96.80", "97.20"]
    assert lines[2].split() == ["1", "d", "95.00", "1.00", "94.00", "96.00"]
    assert lines[3] == "digital baseline (no analog noise): 97.59%"


class _Bar:
    """Stands in for tqdm and keeps the keywords it was made with."""

    made: list[dict] = []

    def __init__(self, **kwargs):
        _Bar.made.append(kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n: int = 1) -> None:
        pass


@_NEEDS_TORCH
@pytest.mark.parametrize("terminal", [False, True])
def test_analog_accuracy_prints_a_table_without_json(terminal, tmp_path, capsys, monkeypatch):
    import sys

    import tqdm

    import hwloop.sim.noise as noise

    monkeypatch.setattr(noise, "run_analog_accuracy", lambda *a, **k: _accuracy())
    monkeypatch.setattr(tqdm, "tqdm", _Bar)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    monkeypatch.chdir(tmp_path)
    _Bar.made.clear()
    assert main(["analog-accuracy", "--times", "1,86400", "--seeds", "2"]) == 0
    out, err = capsys.readouterr()
    assert out == _accuracy().table() + "\n" and err == ""
    assert _Bar.made[0]["disable"] is (not terminal)  # a bar only on a terminal
    assert list(tmp_path.iterdir()) == []
