"""Analog layers in torch: a network's Linear and Conv2d run through PCM crossbar pairs.

Each layer keeps its reference weights, programs them (programming noise, drift exponents,
read noise) and computes with :func:`analog_mvm` (``_analog_noise``); see ``docs/analog-noise.md``.
"""
from __future__ import annotations

import copy
import math
from typing import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from hwloop.traces import InputError

from ._analog_noise import (
    AnalogNoise,
    _abs_max,
    analog_mvm,
    draw_drift_exponents,
    drift_conductances,
    program_conductances,
    to_conductance_pair,
)


class _AnalogLayer(nn.Module):
    """A Linear or Conv2d whose weight matrix (out x in) lives on PCM differential pairs."""

    # buffers (registered in __init__; annotated here for nn.Module's untyped __getattr__)
    w_ref: torch.Tensor
    bias: torch.Tensor | None

    def __init__(self, layer: nn.Linear | nn.Conv2d, noise: AnalogNoise) -> None:
        super().__init__()
        self.noise = noise
        self.source = layer.__class__.__name__
        weight = layer.weight.detach().clone()
        self.weight_shape = tuple(weight.shape)
        self.register_buffer("w_ref", weight.reshape(weight.shape[0], -1))
        self.w_max = _abs_max(self.w_ref, noise.weight_scale == "channel")
        self.register_buffer("bias", None if layer.bias is None else layer.bias.detach().clone())
        self.w_prog = self.w_now = self.w_ref
        self.alpha = 1.0
        self._state: tuple | None = None  # (g_prog pair, nu pair, z_read pair, scale)
        self._baseline = 1.0
        self._noise_seed = 0
        self._gen = torch.Generator().manual_seed(0)

    @property
    def per_channel(self) -> bool:
        return self.noise.weight_scale == "channel"

    @torch.no_grad()
    def program(self, generator: torch.Generator) -> None:
        """Program the reference weights: programming noise, drift exponents, read noise."""
        pcm = self.noise.pcm
        g_plus, g_minus, scale = to_conductance_pair(self.w_ref, pcm.g_max_us, self.per_channel)
        progs, nus, zs = [], [], []
        for g in (g_plus, g_minus):
            progs.append(program_conductances(g, pcm, generator))
            nus.append(draw_drift_exponents(g, pcm, generator))
        for g in (g_plus, g_minus):
            zs.append(torch.randn(g.shape, generator=generator, dtype=g.dtype))
        self.w_prog = (progs[0] - progs[1]) / scale
        self._state = (nus, zs)
        self._noise_seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
        self._gen = torch.Generator().manual_seed(self._noise_seed)
        self._baseline = self._readout(self.w_prog)
        self.drift_to(0.0)

    @torch.no_grad()
    def drift_to(self, t_s: float) -> None:
        """Set the weights to those read ``t_s`` seconds after programming (and compensate)."""
        if self._state is None:
            raise RuntimeError("program the analog layer before drifting it")
        pcm = self.noise.pcm
        nus, zs = self._state
        g_plus, g_minus, scale = to_conductance_pair(self.w_prog, pcm.g_max_us, self.per_channel)
        drifted = [drift_conductances(g, nu, z, t_s, pcm) for g, nu, z in zip((g_plus, g_minus), nus, zs)]
        self.w_now = (drifted[0] - drifted[1]) / scale
        self._gen = torch.Generator().manual_seed(self._noise_seed)
        self.alpha = 1.0
        if self.noise.drift_compensation:
            self.alpha = self._baseline / self._readout(self.w_now)
            self._gen.manual_seed(self._noise_seed)  # same output noise for every t

    def _readout(self, w: torch.Tensor) -> float:
        eye = torch.eye(w.shape[1], dtype=w.dtype)
        out = analog_mvm(eye, w, self.w_max, self.noise.converters, self._gen)
        return max(float(out.abs().mean()), 1e-4)

    def matmul(self, x2d: torch.Tensor) -> torch.Tensor:
        return analog_mvm(x2d, self.w_now, self.w_max, self.noise.converters,
                          self._gen) * self.alpha


class AnalogLinear(_AnalogLayer):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        y = self.matmul(x.reshape(-1, x.shape[-1])).reshape(*lead, -1)
        return y if self.bias is None else y + self.bias


class AnalogConv2d(_AnalogLayer):
    def __init__(self, layer: nn.Conv2d, noise: AnalogNoise) -> None:
        if layer.groups != 1 or layer.padding_mode != "zeros" or isinstance(layer.padding, str):
            raise InputError("only ungrouped Conv2d with numeric zero padding can be made "
                             "analog", field="model")
        super().__init__(layer, noise)
        self.kernel_size, self.stride = layer.kernel_size, layer.stride
        self.padding, self.dilation = layer.padding, layer.dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=self.padding,
                        stride=self.stride)  # (n, C*k*k, L)
        y = self.matmul(cols.transpose(1, 2).reshape(-1, cols.shape[1]))
        oh, ow = (_outputs(size, self.padding[axis], self.dilation[axis], self.kernel_size[axis],
                           self.stride[axis]) for axis, size in enumerate((h, w)))
        y = y.reshape(n, oh * ow, -1).transpose(1, 2).reshape(n, -1, oh, ow)
        return y if self.bias is None else y + self.bias.reshape(1, -1, 1, 1)


def convert_to_analog(model: nn.Module, noise: AnalogNoise | None = None) -> nn.Module:
    """A copy of ``model`` with every Linear and Conv2d made analog (not yet programmed)."""
    noise = AnalogNoise() if noise is None else noise
    model = copy.deepcopy(model)

    def swap(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if isinstance(child, nn.Linear):
                setattr(parent, name, AnalogLinear(child, noise))
            elif isinstance(child, nn.Conv2d):
                setattr(parent, name, AnalogConv2d(child, noise))
            else:
                swap(child)

    if isinstance(model, (nn.Linear, nn.Conv2d)):
        return AnalogLinear(model, noise) if isinstance(model, nn.Linear) else AnalogConv2d(model, noise)
    swap(model)
    return model


def analog_layers(model: nn.Module) -> Iterator[_AnalogLayer]:
    return (m for m in model.modules() if isinstance(m, _AnalogLayer))


def program_analog(model: nn.Module, seed: int) -> None:
    """Program every analog layer of ``model`` (layer by layer, from one seeded generator)."""
    generator = torch.Generator().manual_seed(int(seed))
    for layer in analog_layers(model):
        layer.program(generator)


def drift_analog(model: nn.Module, t_s: float) -> None:
    """Read every analog layer ``t_s`` seconds after programming (drift and compensation)."""
    if t_s < 0 or not math.isfinite(t_s):
        raise InputError(f"must be a finite time >= 0 s, got {t_s}", field="t_inference_s")
    for layer in analog_layers(model):
        layer.drift_to(float(t_s))


def _outputs(size: int, padding: int, dilation: int, kernel: int, stride: int) -> int:
    """Output positions along one axis of a convolution (torch's formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
