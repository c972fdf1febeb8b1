"""A deterministic network of a few hundred distinct, realistically sized layers.

ResNet-18 has only 12 distinct layer shapes, which is too few to separate per-process start-up
from per-layer simulation cost. This module draws conv and GEMM layers the way CNNs and
transformer blocks size them (channels grow as the feature map shrinks) with a seeded RNG, so
every run of the benchmark simulates the same workload.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import NamedTuple

from hwloop.traces import Layer

#: Output feature-map size -> channel counts seen at that resolution (ResNet/MobileNet/VGG).
_CHANNELS_AT = {
    112: (16, 24, 32, 64),
    56: (24, 32, 64, 96, 128, 144, 256),
    28: (32, 64, 96, 128, 192, 256, 512),
    14: (64, 96, 128, 160, 256, 384, 512, 576, 1024),
    7: (160, 256, 320, 512, 960, 1024, 1280, 2048),
}
#: (family, weight): 3x3 and 1x1 convs dominate real CNNs; a few stems and transformer GEMMs.
_FAMILIES = (("conv3x3", 0.35), ("conv1x1", 0.35), ("conv5x5", 0.05), ("stem", 0.05),
             ("gemm", 0.20))
_GEMM_M = (1, 16, 49, 64, 128, 196, 256, 512)
_GEMM_NK = (256, 384, 512, 768, 1000, 1024, 2048, 3072)
#: No drawn layer exceeds ResNet-18's largest (conv1 at 118 MMACs) by more than about 2x.
MAX_MACS = 256 * 2**20

HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
          "Num Filter, Strides,")


class Shape(NamedTuple):
    """One SCALE-Sim conv row (padded input size, as SCALE-Sim expects)."""

    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int

    @property
    def macs(self) -> int:
        return self.as_layer("").macs

    def as_layer(self, name: str) -> Layer:
        *dims, stride = self
        return Layer(name=name, **dict(zip(self._fields[:-1], dims)), stride_h=stride,
                     stride_w=stride)


def _conv(rng: random.Random, filt: int) -> Shape:
    out = rng.choice(tuple(_CHANNELS_AT))
    stride = rng.choice((1, 1, 1, 2)) if out <= 56 else 1
    channels = rng.choice(_CHANNELS_AT[out * stride] if out * stride in _CHANNELS_AT
                          else _CHANNELS_AT[out])
    filters = rng.choice(_CHANNELS_AT[out])
    size = stride * (out - 1) + filt  # padded input giving PyTorch's output size `out`
    return Shape(size, size, filt, filt, channels, filters, stride)


def _stem(rng: random.Random) -> Shape:
    filt = rng.choice((3, 5, 7))
    out = rng.choice((56, 112))
    return Shape(2 * (out - 1) + filt, 2 * (out - 1) + filt, filt, filt, 3,
                 rng.choice((16, 24, 32, 48, 64)), 2)


def _gemm(rng: random.Random) -> Shape:
    """An M x K by K x N GEMM, lowered as SCALE-Sim lowers its GEMM rows (1 x K filter)."""
    m, n, k = rng.choice(_GEMM_M), rng.choice(_GEMM_NK), rng.choice(_GEMM_NK)
    return Shape(m, k, 1, k, 1, n, 1)


def _draw(rng: random.Random) -> tuple[str, Shape]:
    names, weights = zip(*_FAMILIES)
    family = rng.choices(names, weights=weights)[0]
    if family == "stem":
        return family, _stem(rng)
    if family == "gemm":
        return family, _gemm(rng)
    return family, _conv(rng, {"conv3x3": 3, "conv1x1": 1, "conv5x5": 5}[family])


def synthetic_layers(count: int, seed: int) -> list[tuple[str, Shape]]:
    """``count`` distinct named shapes, the same for the same ``(count, seed)``."""
    rng = random.Random(seed)
    seen: set[Shape] = set()
    layers: list[tuple[str, Shape]] = []
    while len(layers) < count:
        family, shape = _draw(rng)
        if shape not in seen and shape.macs <= MAX_MACS:
            seen.add(shape)
            layers.append((f"L{len(layers):03d}_{family}", shape))
    return layers


def write_topology(path: Path, count: int, seed: int) -> Path:
    """Write the synthetic network as a SCALE-Sim conv topology CSV (trailing commas kept)."""
    rows = [HEADER] + [f"{name}, " + ", ".join(str(v) for v in shape) + ","
                       for name, shape in synthetic_layers(count, seed)]
    path.write_text("\n".join(rows) + "\n")
    return path
