"""Operators without MACs imported as vector ops: torch's fx path, its recorded run and an
ONNX export give the same ops, between the same layers as before."""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import replace

import pytest

from hwloop.traces import LayerKind, _torch_import, builtin_network, network_from_onnx, network_from_torch

torch = pytest.importorskip("torch")
nn, F = torch.nn, torch.nn.functional

from hwloop.traces import torch_model  # noqa: E402 - needs torch

MODELS = ("resnet18", "mobilenet_v2", "vit_block")
#: (kind, operands, window, ops_per_element) -> how many
COUNTS = {
    "resnet18": {("mul", 1, 1, 2): 20,      # batch norms: a scale and a shift per element
                 ("relu", 1, 1, None): 17,
                 ("add", 2, 1, None): 8,     # residual additions
                 ("pool", 1, 9, None): 1,    # the 3x3 max pool
                 ("pool", 1, 49, None): 1},  # the adaptive average pool, 7x7 -> 1x1
    "mobilenet_v2": {("mul", 1, 1, 2): 52, ("relu", 1, 1, None): 35,  # ReLU6
                     ("add", 2, 1, None): 10, ("pool", 1, 49, None): 1},
    "vit_block": {("layernorm", 1, 1, None): 2, ("mul", 1, 1, None): 1,  # scores * scale
                  ("softmax", 1, 1, None): 1, ("gelu", 1, 1, None): 1, ("add", 2, 1, None): 2},
}
#: Operators that may stay in not_simulated: reshapes, views, dropout, data movement.
MOVEMENT = {"flatten", "reshape", "permute", "getitem", "transpose", "Dropout",
            "Flatten", "Reshape", "Transpose", "Gather", "Identity", "Constant"}


def kinds(net) -> Counter:
    return Counter((op.kind.value, op.operands, op.window, op.ops_per_element)
                   for _, op in net.vector_ops)


def fields(net) -> list:
    """Positions and ops without their names (fx labels, module paths of a recorded run and
    ONNX node names differ)."""
    return [(position, replace(op, name="")) for position, op in net.vector_ops]


def shapes(net) -> list:
    return [replace(layer, name="") for layer in net.layers]


def recorded(module, x, monkeypatch):
    """The import through a recorded run, as for a module fx cannot trace."""
    def no_fx(*args):
        raise RuntimeError("fx cannot trace this")

    with monkeypatch.context() as patch:
        patch.setattr(_torch_import, "_fx_ops", no_fx)
        return network_from_torch(module, x)


def export(module, x, path, **options):
    """The TorchScript exporter (``dynamo=False``): needs onnx only, not onnxscript."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False, **options)
    return path


@pytest.fixture(scope="module", params=MODELS)
def imported(request):
    module, x = torch_model(request.param)
    return request.param, module, x, network_from_torch(module, x)


def test_layers_are_unchanged(imported):
    """The CNNs' convolutions are still their CSV topology's; the ViT block still has its
    28 GEMMs (one per head for the attention products)."""
    name, _, _, net = imported
    if name == "vit_block":
        gemms = [(layer.name.split("[")[0], layer.gemm_mnk) for layer in net.layers]
        assert gemms == ([("attn.qkv", (197, 2304, 768))] + [("attn.matmul", (197, 197, 64))] * 12
                         + [("attn.matmul_1", (197, 64, 197))] * 12
                         + [("attn.proj", (197, 768, 768)), ("mlp.0", (197, 3072, 768)),
                            ("mlp.2", (197, 768, 3072))])
        return
    csv = builtin_network(name)
    assert shapes(net)[:-1] == shapes(csv)[:-1]
    assert net.layers[-1].gemm_mnk == csv.layers[-1].gemm_mnk


def test_vector_ops_by_kind(imported):
    name, _, _, net = imported
    assert kinds(net) == Counter(COUNTS[name])
    assert {op for _, op in net.not_simulated} <= MOVEMENT


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_batch_norms_follow_their_convolution(name):
    """Each batch norm sits right after the conv it normalises: as many elements as that
    conv's output (batch 1), a scale and a shift per output channel."""
    module, x = torch_model(name)
    net = network_from_torch(module, x)
    norms = [(p, op) for p, op in net.vector_ops if op.ops_per_element == 2]
    assert len(norms) == len({p for p, _ in norms})  # one per conv
    for position, op in norms:
        conv = net.layers[position - 1]
        assert conv.kind in (LayerKind.CONV, LayerKind.DEPTHWISE)
        assert op.elements == conv.ofmap_pixels * conv.groups * conv.num_filters
        assert op.params == 2 * conv.groups * conv.num_filters


def test_resnet18_positions():
    module, x = torch_model("resnet18")
    net = network_from_torch(module, x)
    ops = net.vector_ops
    assert [(p, op.name, op.kind.value) for p, op in ops[:4]] == [
        (1, "bn1", "mul"), (1, "relu", "relu"), (1, "maxpool", "pool"), (2, "layer1.0.bn1", "mul")]
    assert (ops[0][1].elements, ops[0][1].params) == (64 * 112 * 112, 2 * 64)
    assert (ops[2][1].elements, ops[2][1].window) == (64 * 56 * 56, 9)
    adds = [p for p, op in ops if op.kind.value == "add"]
    assert adds == [3, 5, 8, 10, 13, 15, 18, 20]  # after each block's second conv (or shortcut)
    position, pool = ops[-1]
    assert position == len(net.layers) - 1 and net.layers[-1].name == "fc"  # before the FC
    assert (pool.name, pool.elements, pool.window) == ("avgpool", 512, 49)


def test_mobilenet_v2_positions():
    module, x = torch_model("mobilenet_v2")
    net = network_from_torch(module, x)
    ops = net.vector_ops
    assert [(p, op.name, op.kind.value) for p, op in ops[:2]] == [
        (1, "features.0.1", "mul"), (1, "features.0.2", "relu")]
    residuals = [(p, op.operands) for p, op in ops if op.kind.value == "add"]
    assert residuals == [(p, 2) for p in (9, 15, 18, 24, 27, 30, 36, 39, 45, 48)]
    position, pool = ops[-1]
    assert position == len(net.layers) - 1  # before the classifier
    assert (pool.kind.value, pool.elements, pool.window) == ("pool", 1280, 49)


def test_vit_block_positions_and_rows():
    module, x = torch_model("vit_block")
    net = network_from_torch(module, x)
    tokens, heads, hidden = 197, 12, 768
    got = [(p, op.name, op.kind.value, op.elements, op.row) for p, op in net.vector_ops]
    assert got == [
        (0, "norm1", "layernorm", tokens * hidden, hidden),
        (13, "attn.mul", "mul", heads * tokens * tokens, 1),  # after qkv and 12 Q K^T
        (13, "attn.softmax", "softmax", heads * tokens * tokens, tokens),
        (26, "add", "add", tokens * hidden, 1),
        (26, "norm2", "layernorm", tokens * hidden, hidden),
        (27, "mlp.1", "gelu", tokens * 4 * hidden, 1),
        (28, "add_1", "add", tokens * hidden, 1)]
    assert len(net.layers) == 28


def test_recorded_run_gives_the_fx_ops(imported, monkeypatch):
    name, module, x, net = imported
    run = recorded(module, x, monkeypatch)
    assert shapes(run) == shapes(net)
    assert fields(run) == fields(net)
    modules = dict(module.named_modules())
    for (_, by_fx), (_, by_run) in zip(net.vector_ops, run.vector_ops):
        if by_fx.name in modules:  # a module's op takes its name on both paths
            assert by_run.name == by_fx.name
    assert {op for _, op in run.not_simulated} <= MOVEMENT


def test_recorded_run_of_multi_head_attention():
    """fx cannot trace nn.MultiheadAttention: the recorded run sees the fused attention (its
    softmax between Q K^T and P V, one product per batch element and head), the residual
    additions, ReLU and the norms; the in-projection's bias add is its layer's."""
    block = nn.TransformerEncoderLayer(64, 4, 256, batch_first=True)
    net = network_from_torch(block, torch.randn(2, 10, 64))
    got = [(p, op.name, op.kind.value, op.elements, op.operands, op.row, op.params)
           for p, op in net.vector_ops]
    assert got == [
        (9, "self_attn.attention_1_softmax", "softmax", 2 * 4 * 10 * 10, 1, 10, 0),
        (18, "TransformerEncoderLayer.add", "add", 2 * 10 * 64, 2, 1, 0),
        (18, "norm1", "layernorm", 2 * 10 * 64, 1, 64, 0),
        (19, "TransformerEncoderLayer.relu", "relu", 2 * 10 * 256, 1, 1, 0),
        (20, "TransformerEncoderLayer.add_1", "add", 2 * 10 * 64, 2, 1, 0),
        (20, "norm2", "layernorm", 2 * 10 * 64, 1, 64, 0)]
    assert len(net.layers) == 20 and {op for _, op in net.not_simulated} == {"Dropout"}


class Swish(nn.Module):
    """A module of the model's own: both paths count its operators, not the module."""

    def forward(self, x):
        return x * torch.sigmoid(x)


@pytest.mark.parametrize("path", ["fx", "recorded run"])
def test_torch_modules_are_one_op_each(path, monkeypatch):
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(inplace=True), Swish(), nn.BatchNorm2d(8),
                          nn.Hardtanh(0.0, 6.0), nn.Tanh())
    x = torch.randn(1, 3, 6, 6)
    net = network_from_torch(model, x) if path == "fx" else recorded(model, x, monkeypatch)
    got = [(p, op.name, op.kind.value, op.operands, op.ops_per_element, op.params)
           for p, op in net.vector_ops]
    assert got == [(1, "1", "relu", 1, None, 0), (1, "2.sigmoid", "silu", 1, 3, 0),
                   (1, "2.mul", "mul", 2, None, 0), (1, "3", "mul", 1, 2, 16),
                   (1, "4", "relu", 1, None, 0)]
    assert all(op.elements == 8 * 4 * 4 for _, op in net.vector_ops)
    assert net.not_simulated == (("5", "Tanh"),)


def test_softmax_without_a_dim_takes_torchs_implicit_one():
    """nn.Softmax() on a 3-D tensor reduces dimension 0 (torch's legacy choice, with a
    warning)."""
    model = nn.Sequential(nn.Linear(6, 6), nn.Softmax())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = network_from_torch(model, torch.randn(2, 5, 6))
    ((_, op),) = net.vector_ops
    assert (op.kind.value, op.row, op.elements) == ("softmax", 2, 60)


class Rules(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.scale = nn.Parameter(torch.ones(8, 1, 1))
        self.w, self.b = nn.Parameter(torch.randn(8, 5)), nn.Parameter(torch.randn(5))

    def forward(self, x):
        y = F.relu_(self.conv(x) * self.scale)
        y = y * 0.5 - y / 2
        z = F.adaptive_avg_pool2d(y, 3) + 1
        s = torch.sigmoid(y) * y
        t = F.avg_pool2d(torch.tanh(s), (2, 3))
        u = F.layer_norm(t, t.shape[-2:]).softmax(dim=1)
        return u.mean(dim=(2, 3)) @ self.w + self.b, z


@pytest.mark.parametrize("path", ["fx", "recorded run"])
def test_counting_rules(path, monkeypatch):
    """Operands, windows and rows on a batch of 2 images of 8 channels, 7x7."""
    model, x = Rules(), torch.randn(2, 4, 7, 7)
    net = network_from_torch(model, x) if path == "fx" else recorded(model, x, monkeypatch)
    got = [(op.kind.value, op.elements, op.operands, op.window, op.row, op.ops_per_element,
            op.params) for _, op in net.vector_ops]
    assert got == [
        ("mul", 784, 1, 1, 1, None, 8),   # * a per-channel scale: its 8 words are params
        ("relu", 784, 1, 1, 1, None, 0),  # in place
        ("mul", 784, 1, 1, 1, None, 0),   # * 0.5: a scalar
        ("mul", 784, 1, 1, 1, None, 0),   # / 2
        ("add", 784, 2, 1, 1, None, 0),   # a - b
        ("pool", 144, 1, 6, 1, None, 0),  # adaptive 7x7 -> 3x3: 49 / 9 rounded up
        ("add", 144, 1, 1, 1, None, 0),   # + 1
        ("silu", 784, 1, 1, 1, 3, 0),     # sigmoid: SiLU less its multiply by x ...
        ("mul", 784, 2, 1, 1, None, 0),   # ... which is this one
        ("pool", 96, 1, 6, 1, None, 0),   # a 2x3 kernel
        ("layernorm", 96, 1, 1, 6, None, 0),  # over the last two dimensions, 3x2
        ("softmax", 96, 1, 1, 8, None, 0),    # over the 8 channels
        ("pool", 16, 1, 6, 1, None, 0)]   # mean over 3x2; then @ w + b: the bias is the GEMM's
    assert [p for p, _ in net.vector_ops] == [2] * 13 and len(net.layers) == 3
    assert {op for _, op in net.not_simulated} == {"tanh"}


@pytest.mark.parametrize("name", MODELS)
def test_onnx_export_gives_the_torch_ops(name, tmp_path):
    pytest.importorskip("onnx")
    module, x = torch_model(name)
    from_torch = network_from_torch(module, x)
    # In eval mode the exporter folds each batch norm into its conv's weights: the default
    # export has no BatchNormalization, so its ops are torch's less the batch norms.
    folded = network_from_onnx(export(module, x, tmp_path / "folded.onnx"))
    assert shapes(folded) == shapes(from_torch)
    assert fields(folded) == [(p, op) for p, op in fields(from_torch) if op.ops_per_element != 2]
    # Exported as the module is (eval), without that folding, the batch norms are there too.
    kept = network_from_onnx(export(module, x, tmp_path / "kept.onnx",
                                    training=torch.onnx.TrainingMode.PRESERVE))
    assert fields(kept) == fields(from_torch)
    assert kept.inputs == from_torch.inputs  # the same producer->consumer graph
    assert folded.inputs is not None
    assert kinds(kept) == Counter(COUNTS[name])
    assert {op for _, op in kept.not_simulated} <= MOVEMENT


@pytest.mark.parametrize("opset", [11, 17])
def test_onnx_silu_softmax_and_linear_bias(opset, tmp_path):
    """SiLU exports as Sigmoid and Mul; a Linear on 3-D input as MatMul and a bias Add, which
    is the layer's; Softmax reduces the same row before and after opset 13 changed its axis."""
    pytest.importorskip("onnx")
    model, x = nn.Sequential(nn.Linear(8, 6), nn.SiLU(), nn.Softmax(dim=-1)), torch.randn(2, 5, 8)
    net = network_from_onnx(export(model, x, tmp_path / "m.onnx", opset_version=opset))
    got = [(p, op.kind.value, op.elements, op.operands, op.row, op.ops_per_element)
           for p, op in net.vector_ops]
    assert got == [(1, "silu", 60, 1, 1, 3), (1, "mul", 60, 2, 1, None),
                   (1, "softmax", 60, 1, 6, None)]
    assert net.not_simulated == ()
    torch_ops = network_from_torch(model, x).vector_ops
    assert [(op.kind.value, op.elements) for _, op in torch_ops] == [("silu", 60),
                                                                     ("softmax", 60)]
