"""The networks that ship with hwloop (``hwloop.traces.networks/*.csv``).

MobileNetV2 (width 1.0, 224x224): SCALE-Sim has no padding field, so each 3x3 layer is given
the padded input size that yields the PyTorch output size E: ``H_eff = S * (E - 1) + F``
(stride 1: E + 2; stride 2: 2 * (E - 1) + 3). Depthwise rows have ``DP`` in their name and
one filter per channel. The classifier is a 1x1 conv on a 1x1 input, as ``fc`` in resnet18.

transformer_block: the GEMMs of one BERT-base encoder block (hidden 768, 12 heads of 64,
FFN 3072) at sequence length 512, in ``Layer, M, N, K`` format (M tokens, N output
features, K reduction). Convention: attention is written out per head, one
``hH_scores`` (Q_h K_h^T: M=512, N=512, K=64) and one ``hH_context`` (P_h V_h: M=512,
N=64, K=512) row for each of the 12 heads, so the file's MAC total is the whole block's.
Softmax, layer norms and bias adds are not GEMMs and are left out.
"""
from __future__ import annotations

import pytest

from hwloop.traces import LayerKind, builtin_network, list_networks

RESNET18_MACS = 1_814_073_344
MOBILENET_V2_MACS = 300_774_272

# (t, c, n, s) of the MobileNetV2 inverted-residual stages.
MOBILENET_V2_BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def test_list_networks_has_the_shipped_ones():
    names = list_networks()
    assert {"alexnet", "resnet18", "mobilenet_v2", "transformer_block"} <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize("name", ["alexnet", "resnet18", "mobilenet_v2", "transformer_block"])
def test_builtin_network_loads_by_name(name):
    network = builtin_network(name)
    assert network.name == name
    assert len(network) > 0
    assert network.macs > 0


def test_resnet18_layers_and_macs():
    network = builtin_network("resnet18")
    assert len(network) == 21
    assert sum(layer.kind is LayerKind.CONV for layer in network) == 21
    assert network.layers[-1].name == "fc"
    assert network.macs == RESNET18_MACS


def _mobilenet_v2_expected():
    """(name, output size, filter, stride, in channels, out channels, depthwise) per layer,
    derived from the block table with PyTorch's output-size rule (pad 1 for 3x3)."""
    def out(h, f, s, p):
        return (h + 2 * p - f) // s + 1

    h = out(224, 3, 2, 1)
    layers = [("conv1", h, 3, 2, 3, 32, False)]
    cin, block = 32, 0
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        for i in range(n):
            block += 1
            stride = s if i == 0 else 1
            hidden = cin * t
            if t != 1:
                layers.append((f"b{block}_expand1x1", h, 1, 1, cin, hidden, False))
            h = out(h, 3, stride, 1)
            layers.append((f"b{block}_DP_dw3x3", h, 3, stride, hidden, hidden, True))
            layers.append((f"b{block}_project1x1", h, 1, 1, hidden, c, False))
            cin = c
    layers.append(("conv_last", h, 1, 1, cin, 1280, False))
    layers.append(("fc", 1, 1, 1, 1280, 1000, False))
    return layers


def test_mobilenet_v2_matches_the_block_table():
    network = builtin_network("mobilenet_v2")
    expected = _mobilenet_v2_expected()
    assert len(network) == len(expected) == 53
    for layer, (name, size, f, s, cin, cout, depthwise) in zip(network, expected):
        assert layer.name == name
        assert (layer.ofmap_h, layer.ofmap_w) == (size, size), name
        assert (layer.filter_h, layer.filter_w, layer.stride_h, layer.channels) == (f, f, s, cin)
        assert layer.ifmap_h == layer.ifmap_w == s * (size - 1) + f, name
        if depthwise:
            assert layer.kind is LayerKind.DEPTHWISE, name
            assert layer.num_filters == 1 and layer.groups == cin
        else:
            assert layer.kind is LayerKind.CONV, name
            assert layer.num_filters == cout
    assert network.layers[-2].ofmap_h == 7  # 224 / 32


def test_mobilenet_v2_depthwise_layers():
    network = builtin_network("mobilenet_v2")
    depthwise = [layer for layer in network if layer.kind is LayerKind.DEPTHWISE]
    assert len(depthwise) == 17
    assert all("DP" in layer.name for layer in depthwise)
    assert all("DP" not in layer.name for layer in network if layer.kind is LayerKind.CONV)
    assert all(layer.filter_h == layer.filter_w == 3 and layer.window_size == 9
               for layer in depthwise)
    # 1 stem conv + 17 depthwise + 16 expand + 17 project + last 1x1 conv + classifier
    assert len(network) == 1 + 17 + 16 + 17 + 1 + 1


def test_mobilenet_v2_macs():
    network = builtin_network("mobilenet_v2")
    hand = sum(size * size * f * f * (cin if dw else cin * cout)
               for _, size, f, _, cin, cout, dw in _mobilenet_v2_expected())
    assert network.macs == hand == MOBILENET_V2_MACS
    assert 290e6 <= network.macs <= 320e6  # the published ~300 MMACs


def test_transformer_block_gemms():
    seq, hidden, heads, ffn = 512, 768, 12, 3072
    head_dim = hidden // heads
    network = builtin_network("transformer_block")
    assert all(layer.kind is LayerKind.GEMM for layer in network)
    by_name = {layer.name: layer for layer in network}
    assert len(by_name) == len(network) == 3 + 2 * heads + 1 + 2
    expected = {"q_proj": (seq, hidden, hidden), "k_proj": (seq, hidden, hidden),
                "v_proj": (seq, hidden, hidden), "out_proj": (seq, hidden, hidden),
                "ffn_up": (seq, ffn, hidden), "ffn_down": (seq, hidden, ffn)}
    for h in range(heads):
        expected[f"h{h}_scores"] = (seq, seq, head_dim)
        expected[f"h{h}_context"] = (seq, head_dim, seq)
    assert {name: layer.gemm_mnk for name, layer in by_name.items()} == expected

    hand = (4 * seq * hidden * hidden            # Q, K, V and output projections
            + heads * seq * seq * head_dim       # scores
            + heads * seq * head_dim * seq       # context
            + 2 * seq * hidden * ffn)            # FFN up and down
    assert hand == 4_026_531_840
    assert network.macs == hand


def test_dqn_and_mlp_are_the_published_shapes():
    """The co-design study's workloads: Mnih et al.'s Atari DQN and a batch-64 MLP."""
    dqn = builtin_network("dqn")
    assert [(layer.ofmap_h, layer.num_filters) for layer in dqn.layers] == [
        (20, 32), (9, 64), (7, 64), (1, 512), (1, 18)]
    assert dqn.layers[3].channels == 7 * 7 * 64
    mlp = builtin_network("mlp")
    assert [layer.gemm_mnk for layer in mlp.layers] == [
        (64, 1024, 784), (64, 1024, 1024), (64, 1024, 1024), (64, 10, 1024)]
