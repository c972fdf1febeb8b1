"""Operator shapes -> hwloop layers: the lowering shared by the torch and ONNX importers.

Shapes are plain tuples of ints, so this module needs neither torch nor onnx.

* A convolution on ``N`` images is ``N`` layers (hwloop's layers have no batch; a network
  runs its layers one after another). Padding is folded into the input size: the layer's
  input is ``S * (E - 1) + D * (F - 1) + 1`` rows, the smallest padded input that gives the
  framework's output size ``E`` (what SCALE-Sim's topologies list, e.g. 229 for ResNet-18's
  7x7/2 conv on 224).
* A matrix product ``A @ B`` whose ``B`` is one matrix (a linear layer, or ``x @ W``) is one
  GEMM with ``M`` = all leading dimensions of ``A`` (a linear layer on a ``(B, T, D)``
  tensor has ``M = B * T``). A batched product (attention's ``Q @ K^T`` over batch and
  heads) is one GEMM layer per batch element, as the built-in transformer block lists one
  layer per head.
"""
from __future__ import annotations

import math
from typing import Sequence

from ._errors import InputError
from ._layer import Layer, LayerKind

Shape = Sequence[int]


def batch_names(name: str, count: int) -> list[str]:
    """``name`` for one layer, else ``name[0]`` .. ``name[count-1]``."""
    return [name] if count == 1 else [f"{name}[{i}]" for i in range(count)]


def conv_layers(name: str, x: Shape, w: Shape, out: Shape, *, stride: Shape, dilation: Shape,
                groups: int) -> list[Layer]:
    """A 1-D or 2-D convolution: ``x`` is ``(N, C, [H,] W)``, ``w`` ``(O, C / groups, [kh,] kw)``,
    ``out`` ``(N, O, [E,] F)``; padding is whatever gives ``out``."""
    if len(x) not in (3, 4) or len(w) != len(x) or len(out) != len(x):
        raise InputError(f"operator {name!r}: only 1-D and 2-D convolutions can be simulated "
                         f"(input of rank {len(x)})")
    if len(x) == 3:  # a 1-D conv is a 2-D conv of height 1
        x, w, out = (*x[:2], 1, x[2]), (*w[:2], 1, w[2]), (*out[:2], 1, out[2])
        stride, dilation = (1, *stride), (1, *dilation)
    batch, channels = x[0], x[1]
    filters, (kh, kw), (e, f) = w[0], w[2:], out[2:]
    if channels % groups or filters % groups or w[1] * groups != channels:
        raise InputError(f"operator {name!r}: {channels} input channels, {filters} filters "
                         f"and weights {tuple(w)} do not fit {groups} groups")
    (sh, sw), (dh, dw) = stride, dilation
    height, width = sh * (e - 1) + dh * (kh - 1) + 1, sw * (f - 1) + dw * (kw - 1) + 1
    if groups > 1 and groups == channels:
        kind, conv_groups = LayerKind.DEPTHWISE, 1
    else:
        kind, conv_groups = LayerKind.CONV, groups
    return [Layer(name=n, ifmap_h=height, ifmap_w=width, filter_h=kh, filter_w=kw,
                  channels=channels, num_filters=filters // groups, stride_h=sh, stride_w=sw,
                  dilation_h=dh, dilation_w=dw, kind=kind, conv_groups=conv_groups)
            for n in batch_names(name, batch)]


def matmul_layers(name: str, a: Shape | None, b: Shape | None) -> list[Layer]:
    """``A @ B`` with NumPy's ``matmul`` broadcasting (1-D operands included); an operand
    without a shape (None: not a tensor) is refused like a scalar."""
    if not a or not b:
        raise InputError(f"operator {name!r}: a matrix product of a scalar")
    if len(b) <= 2:  # one weight matrix: every leading dimension of A is a row
        k, n = (b[0], 1) if len(b) == 1 else tuple(b)
        m = math.prod(a[:-1])
        return _gemms(name, 1, m, n, k, a[-1])
    m, k = (1, a[0]) if len(a) == 1 else tuple(a[-2:])
    batch = _broadcast(name, tuple(a[:-2]), tuple(b[:-2]))
    return _gemms(name, math.prod(batch), m, b[-1], k, b[-2])


def attention_layers(name: str, q: Shape, k: Shape, v: Shape) -> list[Layer]:
    """Scaled dot-product attention: ``Q @ K^T`` then ``P @ V`` per batch element and head."""
    kt = (*k[:-2], k[-1], k[-2])
    scores = matmul_layers(f"{name}_scores", q, kt)
    probs = (*_broadcast(name, tuple(q[:-2]), tuple(k[:-2])), q[-2], k[-2])
    return scores + matmul_layers(f"{name}_context", probs, v)


def _gemms(name: str, count: int, m: int, n: int, k: int, k_other: int) -> list[Layer]:
    if k != k_other:
        raise InputError(f"operator {name!r}: inner dimensions {k} and {k_other} differ")
    if min(count, m, n, k) <= 0:
        raise InputError(f"operator {name!r}: an empty matrix product")
    return [Layer.gemm(n_, m=m, n=n, k=k) for n_ in batch_names(name, count)]


def _broadcast(name: str, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    size = max(len(a), len(b))
    a, b = (1,) * (size - len(a)) + a, (1,) * (size - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        raise InputError(f"operator {name!r}: batch dimensions {a} and {b} do not broadcast")
    return tuple(max(x, y) for x, y in zip(a, b))
