"""Layers: the unit of work the simulators map onto an array."""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from ._errors import InputError


def check_ratio(ratio: object) -> tuple[int, int]:
    """An N:M ratio as ``(N, M)``: ``"2:4"`` or a pair, with ``1 <= N <= M``."""
    if isinstance(ratio, str):
        parts = ratio.split(":")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise InputError(f"an N:M ratio looks like 2:4, got {ratio!r}", field="sparsity")
        ratio = (int(parts[0]), int(parts[1]))
    if (not isinstance(ratio, (tuple, list)) or len(ratio) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in ratio)):
        raise InputError(f"an N:M ratio is two whole numbers, got {ratio!r}", field="sparsity")
    n, m = ratio
    if n < 1 or m > 1024:
        raise InputError(f"{n}:{m} keeps no weight: N must be at least 1 (and M at most 1024)"
                         if n < 1 else f"{n}:{m}: M must be at most 1024", field="sparsity")
    if n > m:
        raise InputError(f"{n}:{m} keeps more weights than a block has: N must not exceed M",
                         field="sparsity")
    return n, m


class LayerKind(str, Enum):
    """What a layer computes; every kind lowers to SCALE-Sim's convolution view."""

    CONV = "conv"
    DEPTHWISE = "depthwise"
    GEMM = "gemm"


@dataclass(frozen=True, kw_only=True)
class Layer:
    """One layer, in SCALE-Sim's convolution terms (no padding: give the padded input size).

    ``num_filters`` is the number of output channels of a conv. For a depthwise layer it is
    the number of filters per input channel (SCALE-Sim's ``DP`` rows keep ``NUM_FILT`` per
    channel), usually 1. A grouped conv (PyTorch's ``groups``, ``1 < conv_groups <
    channels``) splits ``channels`` into ``conv_groups`` equal parts, and ``num_filters`` is
    then the number of filters per group (output channels ``/ conv_groups``), as for a
    depthwise layer. ``dilation_h``/``dilation_w`` space the filter taps: a filter then spans
    ``dilation * (filter - 1) + 1`` inputs (:attr:`span_h`). Output size follows SCALE-Sim:
    ``ceil((H - span + S) / S)``.
    Build GEMMs with :meth:`Layer.gemm`. ``weight_bits``/``act_bits`` give the layer's own
    operand widths (None: the accelerator's); outputs are stored at ``act_bits``.
    ``sparsity`` is the weights' N:M ratio ``(N, M)``: N kept in every block of M along the
    window (SCALE-Sim's topology column; None is dense, and so is ``(M, M)``); it counts only
    on an accelerator whose sparsity support is on.
    """

    name: str
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride_h: int = 1
    stride_w: int = 1
    kind: LayerKind = LayerKind.CONV
    conv_groups: int = 1
    dilation_h: int = 1
    dilation_w: int = 1
    weight_bits: int | None = None
    act_bits: int | None = None
    sparsity: tuple[int, int] | None = None
    #: Set only by the simulator on the layer it runs for an N:M sparse layer whose kept
    #: positions are not whole channels: its window keeps the first N of every M positions
    #: (``window_size`` counts those; the demand addresses skip the others).
    masked: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LayerKind(self.kind))
        if self.sparsity is not None:
            object.__setattr__(self, "sparsity", check_ratio(self.sparsity))
        if self.masked is not None:
            object.__setattr__(self, "masked", check_ratio(self.masked))
        for field in ("weight_bits", "act_bits"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 1 <= value <= 32):
                raise InputError(f"must be a whole number of bits from 1 to 32, got {value!r}",
                                 field=field)
        for field in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters",
                      "stride_h", "stride_w", "conv_groups", "dilation_h", "dilation_w"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"must be an integer, got {value!r}", field=field)
            if value <= 0:
                raise InputError(f"must be positive, got {value}", field=field)
        if self.conv_groups != 1:
            if self.kind is not LayerKind.CONV:
                raise InputError(f"a {self.kind.value} layer has no conv groups, got "
                                 f"{self.conv_groups}", field="conv_groups")
            if self.channels % self.conv_groups:
                raise InputError(f"{self.channels} channels do not split into "
                                 f"{self.conv_groups} equal groups", field="conv_groups")
        if self.span_h > self.ifmap_h:
            raise InputError(f"filter height {self.filter_h}{_spanning(self.dilation_h, self.span_h)}"
                             f" is larger than the input height {self.ifmap_h}", field="filter_h")
        if self.span_w > self.ifmap_w:
            raise InputError(f"filter width {self.filter_w}{_spanning(self.dilation_w, self.span_w)}"
                             f" is larger than the input width {self.ifmap_w}", field="filter_w")

    @classmethod
    def gemm(cls, name: str, m: int, n: int, k: int, *, weight_bits: int | None = None,
             act_bits: int | None = None) -> "Layer":
        """An ``M x K`` by ``K x N`` matrix multiply, lowered as SCALE-Sim lowers its GEMM rows."""
        for field, value in (("M", m), ("N", n), ("K", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InputError(f"must be a positive integer, got {value!r}", field=field)
        return cls(name=name, ifmap_h=m, ifmap_w=k, filter_h=1, filter_w=k, channels=1,
                   num_filters=n, kind=LayerKind.GEMM, weight_bits=weight_bits,
                   act_bits=act_bits)

    @property
    def span_h(self) -> int:
        """Input rows one window spans: ``dilation_h * (filter_h - 1) + 1``."""
        return self.dilation_h * (self.filter_h - 1) + 1

    @property
    def span_w(self) -> int:
        """Input columns one window spans: ``dilation_w * (filter_w - 1) + 1``."""
        return self.dilation_w * (self.filter_w - 1) + 1

    @property
    def ofmap_h(self) -> int:
        return math.ceil((self.ifmap_h - self.span_h + self.stride_h) / self.stride_h)

    @property
    def ofmap_w(self) -> int:
        return math.ceil((self.ifmap_w - self.span_w + self.stride_w) / self.stride_w)

    @property
    def ofmap_pixels(self) -> int:
        return self.ofmap_h * self.ofmap_w

    @property
    def window_size(self) -> int:
        """Reduction length per output: ``filter_h * filter_w * channels`` (one channel if
        depthwise); of a ``masked`` window, the positions it keeps."""
        window = self.filter_h * self.filter_w * self.channel_group
        if self.masked is None:
            return window
        n, m = self.masked
        return (window // m) * n + min(n, window % m)

    @property
    def channel_group(self) -> int:
        """Input channels one filter reads: all of them, one for a depthwise layer, or
        ``channels / conv_groups`` for a grouped conv."""
        return 1 if self.kind is LayerKind.DEPTHWISE else self.channels // self.conv_groups

    @property
    def groups(self) -> int:
        """Independent convolutions the layer splits into (its channels if depthwise, else
        ``conv_groups``)."""
        return self.channels if self.kind is LayerKind.DEPTHWISE else self.conv_groups

    @property
    def macs(self) -> int:
        return self.groups * self.ofmap_pixels * self.window_size * self.num_filters

    @property
    def gemm_mnk(self) -> tuple[int, int, int]:
        """The layer as one GEMM per group: (ofmap pixels, filters, window size)."""
        return self.ofmap_pixels, self.num_filters, self.window_size


def _spanning(dilation: int, span: int) -> str:
    return "" if dilation == 1 else f" (spanning {span} at dilation {dilation})"
