"""Networks from torch modules: MACs against independent counts, shapes against the CSVs."""
from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace

import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.traces import InputError, LayerKind, builtin_network, network_from_torch

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from hwloop.traces import torch_model  # noqa: E402 - needs torch

MODELS = ("resnet18", "mobilenet_v2", "vit_block")


@pytest.fixture(scope="module", params=MODELS)
def imported(request):
    module, x = torch_model(request.param)
    return request.param, module, x, network_from_torch(module, x, name=request.param)


def hook_macs(module, inputs) -> int:
    """MACs counted apart from the importer: forward hooks on Conv2d/Linear
    (``out.numel() * in_channels / groups * kh * kw``, ``batch * in * out``) and a
    function mode on ``torch.matmul`` (``out.numel() * K``)."""
    total = 0

    def hook(m, args, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() * m.in_channels // m.groups * math.prod(m.kernel_size)
        elif isinstance(m, nn.Linear):
            total += out.numel() // m.out_features * m.in_features * m.out_features

    class Matmuls(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if func is torch.matmul:
                nonlocal total
                total += out.numel() * args[0].shape[-1]
            return out

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.no_grad(), Matmuls():
            module(*inputs)
    finally:
        for h in handles:
            h.remove()
    return total


def flop_counter_macs(module, inputs) -> int:
    """torch's own count; grad stays on so attention runs unfused, as the importer runs it."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops() // 2


# ResNet-18 1,814,073,344; MobileNet-V2 300,774,272; ViT block (197 tokens) 1,453,954,560
def test_macs_equal_hook_and_flop_counts(imported):
    name, module, x, net = imported
    module.eval()
    assert net.macs == hook_macs(module, (x,)) == flop_counter_macs(module, (x,))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_layer_shapes_equal_the_csv_topologies(name):
    """Every conv equals its CSV row (padding folds to the CSV's S*(E-1)+F input size). The
    classifier is a Linear, imported as a GEMM (M=1, N=1000, K=C); the CSV writes it as a
    1x1 conv on a 1x1 input with C channels: the same GEMM and MACs, another lowering."""
    module, x = torch_model(name)
    net = network_from_torch(module, x)
    csv = builtin_network(name)
    assert len(net) == len(csv)
    for got, want in zip(net.layers[:-1], csv.layers[:-1]):
        assert replace(got, name=want.name) == want
    fc, csv_fc = net.layers[-1], csv.layers[-1]
    assert fc.kind is LayerKind.GEMM
    assert fc.gemm_mnk == csv_fc.gemm_mnk and fc.macs == csv_fc.macs


def test_only_data_movement_is_listed_as_not_simulated(imported):
    """The other operators without MACs are vector ops (tests/traces/test_vector_import.py)."""
    name, _, _, net = imported
    ops = {op for _, op in net.not_simulated}
    expected = {"resnet18": {"flatten"}, "mobilenet_v2": {"Dropout", "flatten"},
                "vit_block": {"reshape", "permute", "getitem", "transpose"}}[name]
    assert ops == expected


@pytest.mark.parametrize("stride,padding,dilation,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (3, 2, 1, 2), (1, 2, 2, 1), (2, 3, 3, 4), (1, "same", 2, 8),
    (2, (1, 0), (1, 2), 1)])
def test_conv_folds_padding_to_pytorch_output_size(stride, padding, dilation, groups):
    conv = nn.Conv2d(8, 16, (3, 2), stride, padding, dilation, groups)
    if padding == "same":
        stride = 1
    x = torch.randn(2, 8, 13, 11)
    out = conv(x)
    net = network_from_torch(conv, x)
    assert len(net) == 2 and [lyr.name for lyr in net.layers] == ["conv2d[0]", "conv2d[1]"]
    layer = net.layers[0]
    assert (layer.ofmap_h, layer.ofmap_w) == tuple(out.shape[2:])
    assert layer.groups == groups and layer.num_filters * groups == 16
    assert layer.kind is (LayerKind.DEPTHWISE if groups == 8 else LayerKind.CONV)
    assert net.macs == hook_macs(conv, (x,))


def test_depthwise_with_multiplier_and_1d_conv():
    dw = nn.Conv2d(4, 12, 3, padding=1, groups=4)
    layer = network_from_torch(dw, torch.randn(1, 4, 7, 7)).layers[0]
    assert layer.kind is LayerKind.DEPTHWISE and layer.num_filters == 3 and layer.ifmap_h == 9
    conv1d = nn.Conv1d(4, 6, 5, stride=2, padding=2)
    x = torch.randn(1, 4, 20)
    layer = network_from_torch(conv1d, x).layers[0]
    assert (layer.ifmap_h, layer.filter_h, layer.ofmap_w) == (1, 1, conv1d(x).shape[-1])


def test_linear_batch_is_gemm_rows_and_attention_is_per_head():
    lin = nn.Linear(16, 8)
    (layer,) = network_from_torch(lin, torch.randn(2, 5, 16)).layers
    assert layer.gemm_mnk == (10, 8, 16)

    class Sdpa(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    q, k, v = torch.randn(2, 3, 5, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 4)
    net = network_from_torch(Sdpa(), (q, k, v))
    assert [lyr.gemm_mnk for lyr in net.layers] == [(5, 7, 8)] * 6 + [(5, 4, 7)] * 6
    assert net.layers[0].name == "scaled_dot_product_attention_scores[0]"


def test_modules_fx_cannot_trace_are_recorded_with_hooks():
    block = nn.TransformerEncoderLayer(64, 4, 256, batch_first=True)
    x = torch.randn(2, 10, 64)
    net = network_from_torch(block, x)
    tokens, heads, head_dim = 2 * 10, 4, 16
    attention = 2 * 2 * heads * 10 * 10 * head_dim  # Q @ K^T and P @ V per batch and head
    assert net.macs == tokens * 64 * (3 * 64 + 64 + 2 * 256) + attention
    block.eval()  # torch's counter has no formula for CPU flash attention: the rest agrees
    assert net.macs - attention == flop_counter_macs(block, (x,))
    assert net.layers[0].name == "self_attn.mm" and net.layers[0].gemm_mnk == (20, 192, 64)
    assert [lyr.name for lyr in net.layers[-2:]] == ["linear1", "linear2"]
    assert ("norm1", "layernorm") in {(op.name, op.kind.value) for _, op in net.vector_ops}
    assert {op for _, op in net.not_simulated} == {"Dropout"}

    class Einsum(nn.Module):
        def forward(self, a, b):
            return torch.einsum("bij,bjk->bik", a, b)

    net = network_from_torch(Einsum(), (torch.randn(2, 3, 4), torch.randn(2, 4, 5)))
    assert [lyr.gemm_mnk for lyr in net.layers] == [(3, 5, 4)] * 2


@pytest.mark.parametrize("module,x,op", [
    (nn.Sequential(nn.Conv3d(1, 2, 3)), (1, 1, 5, 5, 5), "Conv3d"),
    (nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2, 2, 3)), (1, 2, 5, 5), "ConvTranspose2d"),
    (nn.LSTM(4, 4), (3, 1, 4), "LSTM"),
])
def test_unsupported_weighted_operators_are_named(module, x, op):
    with pytest.raises(InputError) as err:
        network_from_torch(module, torch.randn(*x))
    message = str(err.value)
    assert f"({op})" in message and "cannot simulate" in message and "\n" not in message


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(InputError, match="no convolution or matrix product"):
        network_from_torch(nn.ReLU(), torch.randn(3))
    with pytest.raises(InputError, match="fails on the example input: RuntimeError"):
        network_from_torch(nn.Linear(4, 2), torch.randn(3, 5))
    with pytest.raises(InputError, match="example_input"):
        network_from_torch(nn.Linear(4, 2), [1, 2])


def test_dilated_conv_simulates_with_its_macs():
    net = network_from_torch(nn.Conv2d(2, 4, 3, dilation=2), torch.randn(1, 2, 9, 9))
    assert net.layers[0].span_h == 5 and net.layers[0].ofmap_h == 5
    report = simulate(net, get_preset("scalesim_default"))
    assert report.totals["macs"] == 5 * 5 * 4 * 2 * 3 * 3


def test_training_flags_and_random_state_are_left_alone():
    module, x = torch_model("vit_block")
    module.train()
    module.norm1.eval()
    state = torch.random.get_rng_state()
    network_from_torch(module, x)
    assert module.training and not module.norm1.training and module.mlp.training
    assert torch.equal(state, torch.random.get_rng_state())


def test_importing_traces_does_not_import_torch_or_onnx():
    code = ("import sys, hwloop.traces, hwloop.sim; "
            "assert 'torch' not in sys.modules and 'onnx' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
