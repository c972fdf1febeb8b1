"""Activations kept on chip: DRAM words drop by exactly the kept outputs' writes and their
consumers' reads; nothing else changes; what is not modelled is refused in one line."""
from __future__ import annotations

import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate, simulate_totals
from hwloop.sim.cli import main
from hwloop.sim.engine._keep import kept_outputs
from hwloop.traces import InputError, Layer, Network, VectorOp, builtin_network

BASE = get_preset("scalesim_default")
KEEP = BASE.with_overrides(keep_activations=True)


def _dram(totals: dict) -> int:
    return totals["dram_ifmap_reads"] + totals["dram_filter_reads"] + totals["dram_ofmap_writes"]


def test_a_chain_saves_each_kept_output_and_its_readers_reads():
    layers = tuple(Layer.gemm(f"g{i}", 64, 64, 64) for i in range(3))
    net = Network(name="chain", layers=layers, inputs=Network.chain(3))
    plain, kept = simulate(net, BASE), simulate(net, KEEP)
    rows = plain.layers
    # 64x64 outputs (4,096 words) fit the 64 KiB ifmap buffer: g0 and g1 are kept, g2 is the
    # network's output and goes to DRAM
    saved = (rows.loc[0, "dram_ofmap_writes"] + rows.loc[1, "dram_ofmap_writes"]
             + rows.loc[1, "dram_ifmap_reads"] + rows.loc[2, "dram_ifmap_reads"])
    assert _dram(plain.totals) - _dram(kept.totals) == saved
    assert kept.layers["dram_ofmap_writes"].tolist() == [0, 0, rows.loc[2, "dram_ofmap_writes"]]
    assert kept.layers["dram_ifmap_reads"].tolist() == [rows.loc[0, "dram_ifmap_reads"], 0, 0]
    assert kept.totals["total_cycles"] == plain.totals["total_cycles"]
    assert kept.totals["macs"] == plain.totals["macs"]
    assert kept.totals["energy_pj"] < plain.totals["energy_pj"]
    assert simulate_totals(net, KEEP) == kept.totals


def test_an_output_that_does_not_fit_goes_to_dram():
    layers = (Layer.gemm("big", 512, 512, 64), Layer.gemm("next", 512, 64, 512))
    net = Network(name="n", layers=layers, inputs=Network.chain(2))
    small = KEEP.with_overrides(ifmap_kb=64)  # 262,144 output words > 65,536
    assert _dram(simulate(net, small).totals) == _dram(simulate(net, BASE).totals)


def test_a_residual_operand_is_kept_and_the_add_reads_only_the_other():
    layers = (Layer.gemm("a", 64, 64, 64), Layer.gemm("b", 64, 64, 64))
    add = VectorOp(name="res", kind="add", elements=64 * 64, operands=2)
    # a -> b, and the add reads a and b (a residual around b)
    net = Network(name="n", layers=layers, vector_ops=((2, add),), inputs=((), (0,), (0, 1)))
    rows = simulate(net, KEEP).layers.set_index("name")
    assert rows.loc["res", "dram_ifmap_reads"] == 0  # both operands were kept
    assert rows.loc["a", "dram_ofmap_writes"] == rows.loc["b", "dram_ofmap_writes"] == 0
    assert rows.loc["b", "dram_ifmap_reads"] == 0


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "transformer_block"])
@pytest.mark.parametrize("kib", [64, 512])
def test_kept_outputs_never_overfill_the_buffer(name, kib):
    net = builtin_network(name, vector_ops=True)
    accel = KEEP.with_overrides(ifmap_kb=kib)
    words = [item.ofmap_pixels * item.num_filters * item.groups if isinstance(item, Layer)
             else item.output_words for item in net.in_order()]
    capacity = accel.sram.words("ifmap")
    kept = kept_outputs(net, words, capacity)
    last = {i: j for j, reads in enumerate(net.inputs) for i in reads}
    for j in range(len(words)):  # at node j: kept outputs made at or before j, read at or after
        live = sum(words[i] for i in kept if i <= j and last[i] >= j)
        assert live <= capacity
    assert kept and all(i in last for i in kept)
    assert _dram(simulate_totals(net, accel)) < _dram(simulate_totals(
        net, accel.with_overrides(keep_activations=False)))


def test_a_plain_built_in_network_keeps_its_branches():
    """Without its vector operators a built-in network's graph runs layer to layer: ResNet-18's
    first downsample conv reads the second block's output, which adds conv2_2b to that
    block's input (conv2_1b's block, itself adding to conv1's pooled output)."""
    net = builtin_network("resnet18")
    names = [layer.name for layer in net.layers]
    ds = names.index("conv3_ds")
    assert net.inputs[ds] == tuple(sorted(names.index(n) for n in ("conv1", "conv2_1b",
                                                                     "conv2_2b")))
    assert net.inputs[names.index("conv2_1a")] == (names.index("conv1"),)


def test_what_is_not_modelled_is_refused_in_one_line(tmp_path, capsys):
    net = builtin_network("resnet18")
    with pytest.raises(InputError) as info:
        simulate(net, KEEP.with_overrides(bandwidth=8))
    assert info.value.field == "keep_activations"
    unknown = Network(name="onnx-like", layers=net.layers)
    with pytest.raises(InputError, match="graph"):
        simulate_totals(unknown, KEEP)
    with pytest.raises(InputError):
        simulate(net, KEEP, mapping="auto")
    assert main(["simulate", "--keep-activations", "--bandwidth", "8", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--keep-activations" in err and len(err.strip().splitlines()) == 1
    assert main(["simulate", "--keep-activations", "-q"]) == 0


def test_the_toml_key_and_the_default(tmp_path):
    from hwloop.arch import load_config

    path = tmp_path / "a.toml"
    path.write_text("[sram]\nkeep_activations = true\n")
    assert load_config(path).sram.keep_activations
    assert not BASE.sram.keep_activations


def test_a_torch_fx_import_carries_its_graph_and_a_recorded_run_none():
    pytest.importorskip("torch")
    from torch import nn

    from hwloop.traces import network_from_torch, torch_model

    module, x = torch_model("vit_block")
    net = network_from_torch(module, x)
    nodes = list(net.in_order())
    adds = [j for j, item in enumerate(nodes) if isinstance(item, VectorOp) and item.kind == "add"]
    first, second = adds
    assert net.inputs[first] == (first - 1,)  # x (the network input) + attention's projection
    assert first in net.inputs[second] and second - 1 in net.inputs[second]  # the residual
    norm2 = next(j for j, item in enumerate(nodes) if getattr(item, "name", "") == "norm2")
    assert net.inputs[norm2] == (first,)
    tokens = torch_model("vit_block")[1][:, :4, :16]  # fx cannot trace MultiheadAttention
    recorded = network_from_torch(nn.MultiheadAttention(16, 2), (tokens,) * 3)
    assert recorded.inputs is None
