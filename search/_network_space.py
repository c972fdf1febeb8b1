"""A family of small CNNs for 8x8 one-channel images (scikit-learn's digits), as search data.

A point's ``net_*`` parameters (with ``weight_bits``/``act_bits``) pick one network:

- ``net_depth`` (1-3): conv stages, each a stride-1 "same" convolution, ReLU and a 2x2 max
  pool (8x8 -> 4x4 -> 2x2 -> 1x1);
- ``net_width``: output channels of the first stage; each later stage doubles them;
- ``net_kernel`` (1, 3, 5 or 7, odd): the kernel size of every stage;
- ``weight_bits``/``act_bits``: the operand widths of every layer (default 8).

A linear classifier to the 10 classes ends the network. :func:`build_network` gives the
layers hwloop simulates (each conv given its padded input size, so its output matches
PyTorch's; the classifier as a ``1 x K`` by ``K x 10`` GEMM; pooling and ReLU are not
simulated) and :func:`build_module` the ``torch.nn.Module`` (torch imported only there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwloop.traces import InputError, Layer, Network

#: The family's parameters: (smallest, largest) value each allows.
NET_PARAMS = {"net_depth": (1, 3), "net_width": (1, 256), "net_kernel": (1, 7)}
#: The network a point gets for a ``net_*`` parameter its space does not search.
NET_DEFAULTS = {"net_depth": 2, "net_width": 8, "net_kernel": 3, "weight_bits": 8,
                "act_bits": 8}
IMAGE_SIZE = 8
CLASSES = 10


@dataclass(frozen=True, kw_only=True)
class NetSpec:
    """One member of the family; every field is validated."""

    depth: int
    width: int
    kernel: int
    weight_bits: int
    act_bits: int

    def __post_init__(self) -> None:
        for name, value in (("net_depth", self.depth), ("net_width", self.width),
                            ("net_kernel", self.kernel)):
            low, high = NET_PARAMS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(f"must be an integer from {low} to {high}, got {value!r}",
                                 field=name)
        if self.kernel % 2 == 0:
            raise InputError(f"must be odd (a 'same' convolution), got {self.kernel}",
                             field="net_kernel")
        for name in ("weight_bits", "act_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 32:
                raise InputError(f"must be an integer from 2 to 32, got {value!r}", field=name)

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels of each stage."""
        return tuple(self.width * 2 ** i for i in range(self.depth))

    @property
    def features(self) -> int:
        """Inputs of the classifier: last stage's channels times its pooled pixels."""
        side = IMAGE_SIZE >> self.depth
        return self.channels[-1] * side * side

    def as_dict(self) -> dict[str, int]:
        return {"net_depth": self.depth, "net_width": self.width, "net_kernel": self.kernel,
                "weight_bits": self.weight_bits, "act_bits": self.act_bits}


def defines_network(point: dict[str, Any] | tuple[str, ...]) -> bool:
    """Whether a point (or a space's parameter names) picks its network from the family."""
    return any(name in NET_PARAMS for name in point)


def net_spec(point: dict[str, Any]) -> NetSpec:
    """The family member of a design point (defaults for what it does not set)."""
    values = {name: point.get(name, default) for name, default in NET_DEFAULTS.items()}
    return NetSpec(depth=values["net_depth"], width=values["net_width"],
                   kernel=values["net_kernel"], weight_bits=values["weight_bits"],
                   act_bits=values["act_bits"])


def build_network(spec: NetSpec) -> Network:
    """The layers hwloop simulates for ``spec``."""
    pad = spec.kernel - 1  # "same" padding on both sides: (kernel - 1) / 2 each
    bits = {"weight_bits": spec.weight_bits, "act_bits": spec.act_bits}
    layers, side, channels = [], IMAGE_SIZE, 1
    for i, filters in enumerate(spec.channels):
        layers.append(Layer(name=f"conv{i + 1}", ifmap_h=side + pad, ifmap_w=side + pad,
                            filter_h=spec.kernel, filter_w=spec.kernel, channels=channels,
                            num_filters=filters, **bits))
        side, channels = side // 2, filters
    layers.append(Layer.gemm("fc", 1, CLASSES, spec.features, **bits))
    name = f"cnn-d{spec.depth}-w{spec.width}-k{spec.kernel}-{spec.weight_bits}w{spec.act_bits}a"
    return Network(name=name, layers=tuple(layers))


def build_module(spec: NetSpec) -> Any:
    """The ``torch.nn.Module`` of ``spec``, its weights and activations fake-quantised to the
    spec's bit widths (straight-through estimator). Needs torch."""
    from ._accuracy import quantised_module

    return quantised_module(spec)
