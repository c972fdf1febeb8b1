"""ONNX operators without MACs, as :class:`VectorOp`.

Each operator is translated into the torch function it computes and counted by
:mod:`._torch_vector`, so a model exported from torch gives the vector ops its torch import
gives (same kinds and element counts). Shapes come from ONNX shape inference; this module
needs no onnx package (it reads the nodes' fields).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from ._torch_vector import Operand, function_vector_op, is_bias
from ._vector_op import VectorOp

Shapes = Mapping[str, "tuple[int, ...] | None"]

#: ONNX operator -> the torch function it computes.
_FUNCTIONS = {
    "Relu": "relu", "Clip": "clip", "LeakyRelu": "leaky_relu", "Gelu": "gelu",
    "Sigmoid": "sigmoid", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish",
    "Softmax": "softmax", "LogSoftmax": "log_softmax",
    "LayerNormalization": "layer_norm", "RMSNormalization": "rms_norm",
    "BatchNormalization": "batch_norm",
    "MaxPool": "max_pool", "AveragePool": "avg_pool",
    "GlobalAveragePool": "adaptive_avg_pool2d", "GlobalMaxPool": "adaptive_max_pool2d",
    "ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax",
    "Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Neg": "neg", "Pow": "pow",
}
#: Operators whose second input is an operand too (for the others: a parameter or attribute).
_BINARY = {"Add", "Sub", "Mul", "Div", "Pow"}


def node_vector_op(node: Any, label: str, shapes: Shapes, opset: int,
                   scalars: Mapping[str, float]) -> VectorOp | None:
    """The vector op of ONNX ``node`` (default domain), or None. ``scalars``: the graph's
    one-element constants, by name (a ``Pow``'s exponent)."""
    function = _FUNCTIONS.get(node.op_type)
    if function is None or not node.output:
        return None
    attrs = {a.name: a for a in node.attribute}
    operands = [scalars[n] if n in scalars else _operand(shapes.get(n))
                for n in node.input[:2 if node.op_type in _BINARY else 1]]
    x = shapes.get(node.input[0]) if node.input else None
    kwargs: dict[str, Any] = {}
    if node.op_type in ("Softmax", "LogSoftmax") and x is not None:
        axis = _int(attrs, "axis", -1 if opset >= 13 else 1) % max(len(x), 1)
        if opset < 13:  # before opset 13, the input is flattened to 2-D at the axis
            operands[0] = Operand((math.prod(x[:axis]), math.prod(x[axis:])))
            axis = 1
        kwargs["dim"] = axis
    elif node.op_type in ("LayerNormalization", "RMSNormalization") and x is not None:
        kwargs["normalized_shape"] = x[_int(attrs, "axis", -1) % max(len(x), 1):]
    elif node.op_type in ("MaxPool", "AveragePool") and "kernel_shape" in attrs:
        kernel = tuple(int(k) for k in attrs["kernel_shape"].ints)
        function = f"{function}{len(kernel)}d"
        kwargs["kernel_size"] = kernel
    return function_vector_op(label, function, operands, kwargs, shapes.get(node.output[0]))


def adds_bias(node: Any, shapes: Shapes, products: set[str]) -> bool:
    """Whether ``node`` adds a bias to a ``MatMul``'s output: a torch ``Linear`` on more than
    two dimensions exports as ``MatMul`` then ``Add``; the bias is the layer's, as in Gemm."""
    out = shapes.get(node.output[0]) if node.output else None
    if node.op_type != "Add" or len(node.input) != 2 or out is None:
        return False
    a, b = node.input
    return any(p in products and is_bias(out, shapes.get(o)) for p, o in ((a, b), (b, a)))


def scalar_constants(graph: Any, numpy_helper: Any) -> dict[str, float]:
    """The graph's one-element initializers and ``Constant`` outputs, by name."""
    tensors = [(t.name, t) for t in graph.initializer]
    tensors += [(node.output[0], a.t) for node in graph.node if node.op_type == "Constant"
                for a in node.attribute if a.name == "value"]
    values = {}
    for name, tensor in tensors:
        if math.prod(tensor.dims) == 1:
            values[name] = float(numpy_helper.to_array(tensor).reshape(-1)[0])
    return values


def _operand(shape: tuple[int, ...] | None) -> Operand | None:
    """A tensor of known shape; None (counted as a scalar) if shape inference left it open."""
    return None if shape is None else Operand(shape)


def _int(attrs: Mapping[str, Any], key: str, default: int) -> int:
    return int(attrs[key].i) if key in attrs else default
