"""LLM inference runs: prefill and decode steps in one report, their totals, and the bounds
a roofline gives them."""
from __future__ import annotations

import csv

import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate_llm
from hwloop.sim.cli import main
from hwloop.traces import decoder_macs, get_llm

TINY = get_llm("llama-tiny")
ACCEL = get_preset("scalesim_default").with_overrides(bandwidth=4)


@pytest.fixture(scope="module")
def run():
    return simulate_llm(TINY, ACCEL, prompt=16, gen=3, batch=2)


def test_phases_steps_and_totals(run):
    rows, totals = run.layers, run.totals
    assert set(rows["phase"]) == {"prefill", "decode"} and set(rows["step"]) == {0, 1, 2, 3}
    prefill = rows[rows["phase"] == "prefill"]
    decode = rows[rows["phase"] == "decode"]
    busy = rows["total_cycles"] + rows["prefetch_cycles"].fillna(0)  # at 1 GHz: ns
    assert totals["ttft_s"] == pytest.approx(busy[prefill.index].sum() * 1e-9)
    assert totals["tpot_s"] == pytest.approx(busy[decode.index].sum() * 1e-9 / 3)
    assert totals["tokens_per_s"] == pytest.approx(2 * 3 / (totals["ttft_s"] + 3 * totals["tpot_s"]))
    want = decoder_macs(TINY, tokens=16, context=16, batch=2) + sum(
        decoder_macs(TINY, tokens=1, context=16 + i, batch=2) for i in (1, 2, 3))
    assert totals["macs"] == want


def test_decode_is_bound_by_its_weight_and_kv_traffic(run):
    """A decode step cannot beat the filter port: weights and the KV cache are its filters
    (4 words a cycle at 1 GHz, so the bound in seconds is words / 4e9)."""
    bound = []
    for step in (1, 2, 3):
        rows = run.layers[(run.layers["phase"] == "decode") & (run.layers["step"] == step)]
        cycles = (rows["total_cycles"] + rows["prefetch_cycles"].fillna(0)).sum()
        assert cycles >= rows["dram_filter_reads"].sum() / 4
        bound.append(rows["dram_filter_reads"].sum() / 4e9)
    assert run.totals["tpot_s"] >= sum(bound) / 3


def test_prefill_is_bound_by_its_macs(run):
    rows = run.layers[run.layers["phase"] == "prefill"]
    assert rows["total_cycles"].sum() >= rows["macs"].sum() / ACCEL.array.num_pes


def test_the_command_line(tmp_path, capsys):
    out = tmp_path / "llm.csv"
    assert main(["simulate", "--network", "llama-tiny", "--prompt-len", "8", "--gen-len", "2",
                 "--csv", str(out), "-q"]) == 0
    assert "tokens/s" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert {r["phase"] for r in rows} == {"prefill", "decode"}
    assert main(["simulate", "--network", "resnet18", "--prompt-len", "8", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--prompt-len" in err and len(err.strip().splitlines()) == 1
    assert main(["simulate", "--network", "llama-tiny", "--vector-ops", "-q"]) == 2


def test_the_plot_draws_steps_and_kinds(run, tmp_path):
    from hwloop.sim import plot_llm

    figure = plot_llm(run)
    steps, kinds = figure.axes[:2]
    assert len(steps.lines[0].get_xdata()) == 3  # one point per decode step
    assert list(steps.lines[0].get_xdata()) == [17, 18, 19]
    assert {t.get_text() for t in kinds.get_legend().get_texts()} >= {"gemm", "softmax"}
    figure.savefig(tmp_path / "llm.png")
