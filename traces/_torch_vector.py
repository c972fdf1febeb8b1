"""Operators without MACs as :class:`VectorOp`: the table the torch importer's fx path and
its recorded run share (the ONNX importer translates its nodes into the same calls).

Each path describes an operator the same way: a function name (an fx function or Tensor
method, an aten operator, or the functional form of a ``torch.nn`` module), its arguments
with every tensor replaced by an :class:`Operand` (its shape), and the output's shape. So
this module needs no torch, and an operator gives the same op whichever path met it.

Counting rules (``VectorOp``'s fields):

* ``elements``: the whole output tensor, batch included.
* ``add``/``mul``: an operand with as many elements as the output is one of ``operands``; a
  scalar (one element) is held in a register and read once; a smaller tensor broadcast over
  the output (a per-channel scale) counts as ``params`` words.
* Pools: ``window`` is the kernel's area; for adaptive pools and reductions (``mean``,
  ``sum``), the input elements per output, rounded up.
* A bias added to a matrix product's output belongs to that layer (:func:`is_bias`), and
  fused attention brings its softmax (:func:`attention_ops`).
* In-place variants (``relu_``, ``add_``) and the dunder forms (``__add__``) are the same
  operators: a name is looked up without leading and trailing underscores.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ._layer import Layer
from ._lowering import attention_layers
from ._vector_op import VectorKind, VectorOp

Shape = tuple[int, ...]
#: What one operator gives: layers, vector ops or both, in model order.
Items = Sequence[Layer | VectorOp]
#: Additions that may add a matrix product's bias (see :func:`is_bias`).
ADDS = ("add", "iadd", "radd")


@dataclass
class Found:
    """What an import has met so far: layers, and vector ops placed between them."""

    layers: list[Layer] = field(default_factory=list)
    vector_ops: list[tuple[int, VectorOp]] = field(default_factory=list)
    #: operators left out, as ``(name, operator)``
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: the graph, where a path tracks it (``Network.inputs``): per node met, its producers
    inputs: list[tuple[int, ...]] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        """Layers and vector ops met so far (the next one's index in model order)."""
        return len(self.layers) + len(self.vector_ops)

    @property
    def graph(self) -> tuple[tuple[int, ...], ...] | None:
        """``Network.inputs``: the producers of every node, where the path tracked them all."""
        return tuple(self.inputs) if len(self.inputs) == self.nodes else None

    def add(self, items: Items, reads: tuple[int, ...] | None = None) -> None:
        """Layers in order; each vector op after the layers met before it. ``reads``: the
        nodes the first item reads (each later one reads the one before it)."""
        for k, item in enumerate(items):
            if reads is not None:
                self.inputs.append(reads if k == 0 else (self.nodes - 1,))
            if isinstance(item, VectorOp):
                self.vector_ops.append((len(self.layers), item))
            else:
                self.layers.append(item)

    def vector(self, op: VectorOp | None, name: str, operator: str) -> bool:
        """Add ``op``; if there is none, list ``(name, operator)`` as left out."""
        if op is None:
            self.skipped.append((name, operator))
        else:
            self.add([op])
        return op is not None


@dataclass(frozen=True)
class Operand:
    """A tensor argument, by its shape (other arguments are passed as they are)."""

    shape: Shape


@dataclass(frozen=True)
class _Call:
    """One operator call: its function name, arguments and output shape."""

    function: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    out: Shape

    def arg(self, index: int, key: str, default: Any = None) -> Any:
        """The argument at ``index`` or named ``key`` (fx and aten pass either)."""
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(key, default)

    @property
    def input(self) -> Shape:
        """The first tensor argument's shape (the output's if there is none)."""
        first = self.args[0] if self.args else None
        return first.shape if isinstance(first, Operand) else self.out

    @property
    def elements(self) -> int:
        return math.prod(self.out)


#: A call -> the fields of its VectorOp besides the name; None if it is not a vector op.
_Builder = Callable[[_Call], "dict[str, Any] | None"]


def _elementwise(kind: VectorKind, ops: int | None = None) -> _Builder:
    """One operand in, one result per element; ``ops`` when the kind's count does not fit."""
    return lambda call: {"kind": kind, "ops_per_element": ops}


def _arithmetic(kind: VectorKind) -> _Builder:
    def build(call: _Call) -> dict[str, Any]:
        tensors = [math.prod(a.shape) for a in (call.arg(0, "input"), call.arg(1, "other"))
                   if isinstance(a, Operand)]
        full = sum(1 for n in tensors if n == call.elements)
        broadcast = sum(n for n in tensors if 1 < n < call.elements)
        return {"kind": kind, "operands": max(full, 1), "params": broadcast}
    return build


def _square(call: _Call) -> dict[str, Any] | None:
    """``x ** 2`` is ``x * x``; other powers are not a kind the vector unit lists."""
    exponent = call.arg(1, "exponent")
    return {"kind": VectorKind.MUL} if exponent == 2 else None


def _softmax(call: _Call) -> dict[str, Any] | None:
    x, dim = call.input, call.arg(1, "dim")
    if dim is None:  # torch's legacy implicit dimension (nn.Softmax(dim=None))
        dim = 0 if len(x) in (0, 1, 3) else 1
    if not isinstance(dim, int) or not -len(x) <= dim < len(x):
        return None
    return {"kind": VectorKind.SOFTMAX, "row": x[dim]}


def _norm(kind: VectorKind) -> _Builder:
    """The normalised shape is the input's trailing dimensions: its length is enough (fx
    may hold a traced size in it)."""
    def build(call: _Call) -> dict[str, Any] | None:
        normalized = call.arg(1, "normalized_shape")
        if not isinstance(normalized, (int, tuple, list)):
            return None
        count = len(normalized) if isinstance(normalized, (tuple, list)) else 1
        x = call.input
        return {"kind": kind, "row": math.prod(x[len(x) - count:])} if count <= len(x) else None
    return build


def _batch_norm(call: _Call) -> dict[str, Any]:
    """Inference batch norm: one multiply-add per element (scale and shift), with a scale
    and a shift per channel (dimension 1)."""
    channels = call.out[1] if len(call.out) > 1 else call.out[0]
    return {"kind": VectorKind.MUL, "ops_per_element": 2, "params": 2 * channels}


def _pool(call: _Call) -> dict[str, Any] | None:
    """A pool with a kernel: the window is its area (``max_pool2d``: two dimensions)."""
    rank = re.search(r"(\d)d", call.function)
    kernel = call.arg(1, "kernel_size")
    if isinstance(kernel, int):
        kernel = (kernel,)
    if rank is None or not kernel or not all(isinstance(k, int) for k in kernel):
        return None
    sizes = tuple(kernel) * int(rank.group(1)) if len(kernel) == 1 else tuple(kernel)
    return {"kind": VectorKind.POOL, "window": math.prod(sizes)}


def _reduction(call: _Call) -> dict[str, Any]:
    """An adaptive or global pool, or a mean or sum over some dimensions: each output
    reduces its share of the input."""
    return {"kind": VectorKind.POOL,
            "window": max(1, -(-math.prod(call.input) // call.elements))}


_RELU, _ADD, _MUL = (_elementwise(VectorKind.RELU), _arithmetic(VectorKind.ADD),
                     _arithmetic(VectorKind.MUL))
#: Function names (fx functions and methods, aten operators) -> how to build the op.
_FUNCTIONS: dict[str, _Builder] = {
    **dict.fromkeys(("relu", "relu6", "hardtanh", "clamp", "clamp_min", "clamp_max", "clip"),
                    _RELU),
    "leaky_relu": _elementwise(VectorKind.RELU, 2),  # a multiply and a select
    "gelu": _elementwise(VectorKind.GELU),
    "silu": _elementwise(VectorKind.SILU),
    # sigmoid: SiLU's ops less the multiply by x, which a following mul counts; the hard forms
    # are clamps: x + 3, max, min, * 1/6 (and * x)
    "sigmoid": _elementwise(VectorKind.SILU, 3),
    "hardsigmoid": _elementwise(VectorKind.SILU, 4),
    "hardswish": _elementwise(VectorKind.SILU, 5),
    **dict.fromkeys(("softmax", "log_softmax"), _softmax),
    **dict.fromkeys(("layer_norm", "native_layer_norm"), _norm(VectorKind.LAYERNORM)),
    **dict.fromkeys(("rms_norm", "fused_rms_norm"), _norm(VectorKind.RMSNORM)),
    **dict.fromkeys(("batch_norm", "native_batch_norm", "native_batch_norm_legit",
                     "native_batch_norm_legit_no_training"), _batch_norm),
    **dict.fromkeys(("max_pool1d", "max_pool2d", "max_pool1d_with_indices",
                     "max_pool2d_with_indices", "avg_pool1d", "avg_pool2d"), _pool),
    **dict.fromkeys(("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
                     "adaptive_max_pool2d", "mean", "sum", "amax"), _reduction),
    **dict.fromkeys(("add", "iadd", "radd", "sub", "isub", "rsub"), _ADD),
    **dict.fromkeys(("mul", "imul", "rmul", "div", "truediv", "itruediv", "rtruediv", "neg"),
                    _MUL),
    **dict.fromkeys(("pow", "square"), _square),
}

#: torch.nn modules -> their functional form and the attributes passed as its arguments.
_MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    **dict.fromkeys(("ReLU", "ReLU6", "Hardtanh"), ("relu", ())),
    "LeakyReLU": ("leaky_relu", ()), "GELU": ("gelu", ()), "SiLU": ("silu", ()),
    "Sigmoid": ("sigmoid", ()), "Hardsigmoid": ("hardsigmoid", ()),
    "Hardswish": ("hardswish", ()),
    "Softmax": ("softmax", ("dim",)), "LogSoftmax": ("log_softmax", ("dim",)),
    "LayerNorm": ("layer_norm", ("normalized_shape",)),
    "RMSNorm": ("rms_norm", ("normalized_shape",)),
    **dict.fromkeys(("BatchNorm1d", "BatchNorm2d"), ("batch_norm", ())),
    "MaxPool1d": ("max_pool1d", ("kernel_size",)), "MaxPool2d": ("max_pool2d", ("kernel_size",)),
    "AvgPool1d": ("avg_pool1d", ("kernel_size",)), "AvgPool2d": ("avg_pool2d", ("kernel_size",)),
    **dict.fromkeys(("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d",
                     "AdaptiveMaxPool2d"), ("adaptive_avg_pool2d", ())),
}


def function_vector_op(name: str, function: str, args: Sequence[Any], kwargs: Mapping[str, Any],
                       out: Shape | None) -> VectorOp | None:
    """The op of ``function`` (tensors in ``args``/``kwargs`` as :class:`Operand`) with output
    shape ``out``; None if it has no kind here or no tensor output (then the importer lists
    it as not simulated)."""
    build = _FUNCTIONS.get(function.strip("_"))
    if build is None or out is None or math.prod(out) < 1:
        return None
    fields = build(_Call(function.strip("_"), tuple(args), dict(kwargs), tuple(out)))
    return None if fields is None else VectorOp(name=name, elements=math.prod(out), **fields)


def module_vector_op(name: str, module: Any, x: Shape | None,
                     out: Shape | None) -> VectorOp | None:
    """The op of a ``torch.nn`` module (through its functional form), or None."""
    if type(module).__name__ not in _MODULES or x is None:
        return None
    function, attributes = _MODULES[type(module).__name__]
    kwargs = {key: getattr(module, key) for key in attributes}
    return function_vector_op(name, function, (Operand(tuple(x)),), kwargs, out)


def attention_ops(name: str, q: Shape, k: Shape, v: Shape) -> Items:
    """Fused attention: its products, and between them the softmax over its scores (one row
    of ``k``'s length per query, batch element and head; the scale by 1/sqrt(d) folds into
    the softmax's subtraction of the max)."""
    layers = attention_layers(name, q, k, v)
    scores = [layer for layer in layers if layer.name.startswith(f"{name}_scores")]
    elements = len(scores) * q[-2] * k[-2]  # one score layer per batch element and head
    softmax = VectorOp(name=f"{name}_softmax", kind=VectorKind.SOFTMAX, elements=elements,
                       row=k[-2])
    return [*scores, softmax, *layers[len(scores):]]


def is_bias(out: Sequence[int], other: Sequence[int] | None) -> bool:
    """Whether ``other``, added to a matrix product's output ``out``, is its bias: a vector
    of the output's last size. It belongs to the layer, as ``addmm`` and ONNX ``Gemm`` fuse
    it, so it is not a vector op."""
    return other is not None and len(other) == 1 and len(out) >= 1 and other[0] == out[-1]
