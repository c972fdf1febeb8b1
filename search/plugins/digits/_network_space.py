"""A family of small CNNs for 8x8 one-channel images (scikit-learn's digits), as search data.

A point's ``net_*`` parameters (with ``weight_bits``/``act_bits``) pick one network:

- ``net_depth`` (1-3): conv stages, each a stride-1 "same" convolution, ReLU and a 2x2 max
  pool (8x8 -> 4x4 -> 2x2 -> 1x1);
- ``net_width``: output channels of the first stage; each later stage doubles them (stage
  ``i`` has ``net_width * 2 ** (i - 1)``);
- ``net_kernel`` (1, 3, 5 or 7, odd): the kernel size of every stage;
- ``weight_bits``/``act_bits``: the operand widths of every layer (default 8).

Per-stage and per-layer parameters override those for one stage or layer:

- ``net_width_1``..``net_width_3`` (1-1024): output channels of stage ``i`` instead of the
  doubling rule (the other stages keep the rule: ``net_width_1`` does not move stage 2);
- ``net_kernel_1``..``net_kernel_3`` (odd, 1-7): the kernel of stage ``i`` instead of
  ``net_kernel``;
- ``weight_bits_1``..``weight_bits_3`` and ``weight_bits_fc``, ``act_bits_1``..``act_bits_3``
  and ``act_bits_fc`` (2-32): the widths of conv stage ``i`` or of the classifier instead of
  ``weight_bits``/``act_bits``. A layer's ``act_bits`` is the width of the activations it
  reads (the image for stage 1, the previous stage's pooled output otherwise), which is also
  the width hwloop stores its outputs at.

A parameter naming a stage the network does not have (``net_width_3`` when ``net_depth`` is
2) is ignored for that point, as are overrides equal to what the global parameters give: such
points are the same network as without them (same :meth:`NetSpec.as_dict`, cache keys and
layers). These parameters belong to the family, so a space that uses any of them builds its
networks from it (for a named ``--network``, use ``weight_bits``/``act_bits``).

A linear classifier to the 10 classes ends the network. :func:`build_network` gives the
layers hwloop simulates (each conv given its padded input size, so its output matches
PyTorch's; the classifier as a ``1 x K`` by ``K x 10`` GEMM; pooling and ReLU are not
simulated) and :func:`build_module` the ``torch.nn.Module`` (torch imported only there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from hwloop.traces import InputError, Layer, Network

#: Most conv stages a member has.
MAX_DEPTH = 3
#: Names of the layers that per-layer bit widths address: the stages, then the classifier.
LAYER_SUFFIXES = (*(str(i) for i in range(1, MAX_DEPTH + 1)), "fc")
#: Per-stage and per-layer parameters, each overriding a global one for one stage or layer:
#: (smallest, largest) value each allows.
OVERRIDE_PARAMS = {
    **{f"net_width_{i}": (1, 1024) for i in range(1, MAX_DEPTH + 1)},
    **{f"net_kernel_{i}": (1, 7) for i in range(1, MAX_DEPTH + 1)},
    **{f"weight_bits_{s}": (2, 32) for s in LAYER_SUFFIXES},
    **{f"act_bits_{s}": (2, 32) for s in LAYER_SUFFIXES},
}
#: The family's parameters: (smallest, largest) value each allows.
NET_PARAMS = {"net_depth": (1, MAX_DEPTH), "net_width": (1, 256), "net_kernel": (1, 7),
              **OVERRIDE_PARAMS}
#: Parameters whose values must be odd (kernel sizes of "same" convolutions).
ODD_PARAMS = ("net_kernel", *(f"net_kernel_{i}" for i in range(1, MAX_DEPTH + 1)))
#: The network a point gets for a ``net_*`` parameter its space does not search.
NET_DEFAULTS = {"net_depth": 2, "net_width": 8, "net_kernel": 3, "weight_bits": 8,
                "act_bits": 8}
IMAGE_SIZE = 8
CLASSES = 10


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"must be an integer from {low} to {high}, got {value!r}", field=name)
    if name in ODD_PARAMS and value % 2 == 0:
        raise InputError(f"must be odd (a 'same' convolution), got {value}", field=name)


@dataclass(frozen=True, kw_only=True)
class NetSpec:
    """One member of the family; every field is validated.

    ``overrides`` maps per-stage/per-layer parameter names (:data:`OVERRIDE_PARAMS`) to
    values; it is kept canonical: overrides of absent stages, and overrides equal to what the
    global fields give, are dropped, and the rest is a tuple of ``(name, value)`` pairs in
    :data:`OVERRIDE_PARAMS` order, so two specs of the same network compare equal.
    """

    depth: int
    width: int
    kernel: int
    weight_bits: int
    act_bits: int
    overrides: Mapping[str, int] | tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name, value in (("net_depth", self.depth), ("net_width", self.width),
                            ("net_kernel", self.kernel)):
            _check_int(name, value, *NET_PARAMS[name])
        for name in ("weight_bits", "act_bits"):
            _check_int(name, getattr(self, name), 2, 32)
        given = dict(self.overrides)
        for name, value in given.items():
            if name not in OVERRIDE_PARAMS:
                raise InputError(f"unknown network parameter; choose from "
                                 f"{', '.join(OVERRIDE_PARAMS)}", field=str(name))
            _check_int(name, value, *OVERRIDE_PARAMS[name])
        implied = self._implied()
        kept = tuple((name, given[name]) for name in OVERRIDE_PARAMS
                     if name in given and name in implied and given[name] != implied[name])
        object.__setattr__(self, "overrides", kept)

    def _implied(self) -> dict[str, int]:
        """What the global fields give each override parameter of the layers this spec has."""
        implied: dict[str, int] = {}
        for i in range(1, self.depth + 1):
            implied[f"net_width_{i}"] = self.width * 2 ** (i - 1)
            implied[f"net_kernel_{i}"] = self.kernel
        for suffix in (*(str(i) for i in range(1, self.depth + 1)), "fc"):
            implied[f"weight_bits_{suffix}"] = self.weight_bits
            implied[f"act_bits_{suffix}"] = self.act_bits
        return implied

    def _resolved(self, name: str) -> int:
        return dict(self.overrides).get(name, self._implied()[name])

    @property
    def channels(self) -> tuple[int, ...]:
        """Output channels of each stage."""
        return tuple(self._resolved(f"net_width_{i}") for i in range(1, self.depth + 1))

    @property
    def kernels(self) -> tuple[int, ...]:
        """Kernel size of each stage."""
        return tuple(self._resolved(f"net_kernel_{i}") for i in range(1, self.depth + 1))

    @property
    def layer_bits(self) -> tuple[tuple[int, int], ...]:
        """``(weight_bits, act_bits)`` of each layer: the stages, then the classifier."""
        suffixes = (*(str(i) for i in range(1, self.depth + 1)), "fc")
        return tuple((self._resolved(f"weight_bits_{s}"), self._resolved(f"act_bits_{s}"))
                     for s in suffixes)

    @property
    def features(self) -> int:
        """Inputs of the classifier: last stage's channels times its pooled pixels."""
        side = IMAGE_SIZE >> self.depth
        return self.channels[-1] * side * side

    def as_dict(self) -> dict[str, int]:
        """The global parameters, plus the overrides that change the network (so a network
        the global parameters alone describe gives the same dict as before overrides)."""
        return {"net_depth": self.depth, "net_width": self.width, "net_kernel": self.kernel,
                "weight_bits": self.weight_bits, "act_bits": self.act_bits,
                **dict(self.overrides)}


def defines_network(point: dict[str, Any] | tuple[str, ...]) -> bool:
    """Whether a point (or a space's parameter names) picks its network from the family."""
    return any(name in NET_PARAMS for name in point)


def net_spec(point: dict[str, Any]) -> NetSpec:
    """The family member of a design point (defaults for what it does not set; overrides of
    stages the point's network does not have are ignored)."""
    values = {name: point.get(name, default) for name, default in NET_DEFAULTS.items()}
    return NetSpec(depth=values["net_depth"], width=values["net_width"],
                   kernel=values["net_kernel"], weight_bits=values["weight_bits"],
                   act_bits=values["act_bits"],
                   overrides={name: point[name] for name in OVERRIDE_PARAMS if name in point})


def build_network(spec: NetSpec) -> Network:
    """The layers hwloop simulates for ``spec``."""
    layers, side, channels = [], IMAGE_SIZE, 1
    bits = spec.layer_bits
    for i, (filters, kernel) in enumerate(zip(spec.channels, spec.kernels)):
        pad = kernel - 1  # "same" padding on both sides: (kernel - 1) / 2 each
        weight_bits, act_bits = bits[i]
        layers.append(Layer(name=f"conv{i + 1}", ifmap_h=side + pad, ifmap_w=side + pad,
                            filter_h=kernel, filter_w=kernel, channels=channels,
                            num_filters=filters, weight_bits=weight_bits, act_bits=act_bits))
        side, channels = side // 2, filters
    weight_bits, act_bits = bits[-1]
    layers.append(Layer.gemm("fc", 1, CLASSES, spec.features, weight_bits=weight_bits,
                             act_bits=act_bits))
    name = f"cnn-d{spec.depth}-w{spec.width}-k{spec.kernel}-{spec.weight_bits}w{spec.act_bits}a"
    if spec.overrides:
        name += "-" + "-".join(f"{key}={value}" for key, value in dict(spec.overrides).items())
    return Network(name=name, layers=tuple(layers))


def build_module(spec: NetSpec) -> Any:
    """The ``torch.nn.Module`` of ``spec``, its weights and activations fake-quantised to the
    spec's bit widths (straight-through estimator). Needs torch; imported only here, so
    that the layers (:func:`build_network`) and the spec need none."""
    import torch
    from torch import nn

    def fake_quant(x: Any, scale: Any, low: int, high: int) -> Any:
        q = torch.clamp(torch.round(x / scale), low, high) * scale
        return x + (q - x).detach()  # straight-through: the gradient of the identity

    class QuantAct(nn.Module):
        """Unsigned activations (inputs in [0, 1], ReLU outputs) on ``bits`` bits."""

        def __init__(self, bits: int, fixed_max: float | None = None) -> None:
            super().__init__()
            self.levels, self.fixed_max = 2 ** bits - 1, fixed_max

        def forward(self, x: Any) -> Any:
            top = self.fixed_max if self.fixed_max is not None else x.detach().max()
            scale = torch.clamp(torch.as_tensor(top) / self.levels, min=1e-8)
            return fake_quant(x, scale, 0, self.levels)

    def quant_weight(weight: Any, bits: int) -> Any:
        top = 2 ** (bits - 1) - 1  # symmetric, per tensor
        scale = torch.clamp(weight.detach().abs().max() / top, min=1e-8)
        return fake_quant(weight, scale, -top, top)

    class QConv(nn.Conv2d):
        def __init__(self, *args: Any, weight_bits: int, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.weight_bits = weight_bits

        def forward(self, x: Any) -> Any:
            return self._conv_forward(x, quant_weight(self.weight, self.weight_bits), self.bias)

    class QLinear(nn.Linear):
        def __init__(self, *args: Any, weight_bits: int, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.weight_bits = weight_bits

        def forward(self, x: Any) -> Any:
            return nn.functional.linear(x, quant_weight(self.weight, self.weight_bits),
                                        self.bias)

    # Layer i reads its activations at its own act_bits: the image is quantised for stage 1,
    # and each stage's ReLU output for the layer after it (the next stage or the classifier).
    bits = spec.layer_bits
    layers: list[Any] = [QuantAct(bits[0][1], fixed_max=1.0)]
    channels = 1
    for i, (filters, kernel) in enumerate(zip(spec.channels, spec.kernels)):
        layers += [QConv(channels, filters, kernel, padding=kernel // 2,
                         weight_bits=bits[i][0]),
                   nn.ReLU(), QuantAct(bits[i + 1][1]), nn.MaxPool2d(2)]
        channels = filters
    layers += [nn.Flatten(), QLinear(spec.features, CLASSES, weight_bits=bits[-1][0])]
    return nn.Sequential(*layers)
