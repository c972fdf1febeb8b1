"""Networks from ONNX files: the same layers as the torch import; bad files in one line."""
from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import replace

import pytest

from hwloop.sim.cli import main
from hwloop.traces import InputError, network_from_onnx, network_from_torch

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn

from hwloop.traces import torch_model  # noqa: E402 - needs torch


def export(module, x, path, **options):
    """The TorchScript exporter (``dynamo=False``): needs onnx only, not onnxscript."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, x if isinstance(x, tuple) else (x,), str(path), dynamo=False,
                          **options)
    return path


def shapes(net):
    """Layers without their names (torch names modules, ONNX names nodes)."""
    return [replace(layer, name="") for layer in net.layers]


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vit_block"])
def test_onnx_import_equals_torch_import(name, tmp_path):
    module, x = torch_model(name)
    from_torch = network_from_torch(module, x, name=name)
    from_onnx = network_from_onnx(export(module, x, tmp_path / f"{name}.onnx"))
    assert shapes(from_onnx) == shapes(from_torch)
    assert from_onnx.macs == from_torch.macs and from_onnx.name == name
    assert from_onnx.not_simulated and from_onnx.source == str(tmp_path / f"{name}.onnx")


def test_conv_attributes_and_gemm_transposes(tmp_path):
    model = nn.Sequential(nn.Conv2d(4, 8, 3, 2, 1), nn.Conv2d(8, 8, 3, 1, 2, 2, groups=8),
                          nn.Conv2d(8, 6, (3, 1), (1, 2), (0, 1), groups=2), nn.Flatten(),
                          nn.Linear(6 * 3 * 4, 7))
    x = torch.randn(3, 4, 10, 9)
    net = network_from_onnx(export(model, x, tmp_path / "m.onnx"))
    assert shapes(net) == shapes(network_from_torch(model, x))
    assert net.layers[-1].gemm_mnk == (3, 7, 72)


def test_symbolic_batch_needs_a_shape(tmp_path):
    model, x = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), torch.randn(1, 3, 8, 8)
    path = export(model, x, tmp_path / "dyn.onnx", input_names=["image"],
                  dynamic_axes={"image": {0: "batch"}})
    with pytest.raises(InputError, match=r"input 'image' has symbolic dimensions \(batch\)"):
        network_from_onnx(path)
    assert len(network_from_onnx(path, input_shapes=(2, 3, 8, 8))) == 2
    assert len(network_from_onnx(path, input_shapes={"image": (4, 3, 8, 8)})) == 4
    with pytest.raises(InputError, match="no graph input named 'x'"):
        network_from_onnx(path, input_shapes={"x": (1, 3, 8, 8)})


def test_unsupported_operator_is_named(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 2, 3), nn.ConvTranspose2d(2, 2, 3))
    path = export(model, torch.randn(1, 2, 6, 6), tmp_path / "up.onnx")
    with pytest.raises(InputError) as err:
        network_from_onnx(path)
    assert str(err.value) == (f"{path}: node '/1/ConvTranspose' (ConvTranspose) has weights or "
                              "matrix products hwloop cannot simulate (supported: Conv 1-D/2-D, "
                              "Gemm, MatMul)")


@pytest.mark.parametrize("content", [b"\x08\x07garbage\xff\xfe" * 50, b"", b"not onnx at all\n"])
def test_malformed_file_is_one_line(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        network_from_onnx(path)
    assert str(err.value).startswith(f"{path}: not a valid ONNX model")
    assert "\n" not in str(err.value)


def test_cli_simulates_a_model(tmp_path, capsys):
    model, x = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                             nn.Linear(8 * 8 * 8, 10)), torch.randn(1, 3, 8, 8)
    path = export(model, x, tmp_path / "small.onnx")
    assert main(["simulate", "--model", str(path), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("small on ") and "/0/Conv" in out and "/3/Gemm" in out


def test_cli_bad_models_exit_2_with_one_line(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(bytes(range(256)) * 4)
    expected = {junk: "not a valid ONNX model"}
    for path, message in expected.items():
        run = subprocess.run([sys.executable, "-m", "hwloop.sim.cli", "simulate", "--model",
                              str(path)], capture_output=True, text=True)
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
        assert run.stderr.startswith(f"hwloop: error: {path}: ")
