"""A :class:`Network` from an ONNX file (the ``onnx`` package is imported only on call).

Shapes come from the graph's inputs and initializers through ONNX shape inference
(``onnx.shape_inference.infer_shapes``); :mod:`._lowering` turns them into layers exactly as
the torch importer does, so a model exported with ``torch.onnx.export`` imports to the same
layers as the module itself.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from ._errors import InputError
from ._layer import Layer
from ._lowering import conv_layers, matmul_layers
from ._network import Network
from ._onnx_vector import adds_bias, node_vector_op, scalar_constants
from ._torch_vector import Found

#: Operators with weights or matrix products that hwloop cannot lower.
_REFUSED = {"ConvTranspose", "ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul",
            "DeformConv", "LSTM", "GRU", "RNN", "Einsum", "Attention", "MultiHeadAttention",
            "If", "Loop", "Scan"}


def network_from_onnx(path: str | os.PathLike[str], *, name: str | None = None,
                      input_shapes: Mapping[str, Sequence[int]] | Sequence[int] | None = None
                      ) -> Network:
    """The convolutions and matrix products of the ONNX model at ``path``.

    ``Conv`` (1-D and 2-D; strides, pads, dilations, group), ``Gemm`` and ``MatMul``
    (batched too) become layers. Operators without MACs become ``Network.vector_ops``
    between them, as the torch importer counts them (see :mod:`hwloop.traces._onnx_vector`):
    activations (Relu, Clip, Gelu, Sigmoid, ...), Softmax, LayerNormalization,
    BatchNormalization, pools and reductions, Add/Sub/Mul/Div; a bias ``Add`` after a
    ``MatMul`` is that layer's. Reshapes, data movement (Transpose, Gather, Concat, ...),
    constants and operators no vector kind fits (Tanh, Exp, Erf, ...) are listed in
    ``Network.not_simulated``. ``input_shapes`` fixes graph inputs with symbolic dimensions
    (a dynamic batch): ``{input name: shape}``, or one shape for a model with one input.
    A file that is not ONNX, an unknown shape, or an unsupported operator with weights or
    matrix products (ConvTranspose, LSTM, Einsum, ...) raises a one-line
    :class:`InputError` naming the file and the node.
    """
    try:
        import onnx
    except ImportError:
        raise InputError("reading ONNX models needs the onnx package (pip install onnx)",
                         source=str(path)) from None
    source = str(path)
    model = _load(onnx, Path(path))
    try:
        _fix_inputs(model.graph, input_shapes)
        model = onnx.shape_inference.infer_shapes(model)
    except InputError as exc:
        raise exc.located(source=source) from None
    except Exception as exc:  # noqa: BLE001 - onnx's inference errors are not one type
        raise InputError(f"shape inference fails: {_first_line(exc)}", source=source) from None
    found = _nodes(onnx, model, source)
    if not found.layers:
        raise InputError("the model has no Conv, Gemm or MatMul to simulate", source=source)
    return Network(name=name or Path(path).stem, layers=tuple(found.layers), source=source,
                   not_simulated=tuple(found.skipped), vector_ops=tuple(found.vector_ops),
                   inputs=found.graph)


def _nodes(onnx, model, source: str) -> Found:
    """Layers, vector ops and the operators left out, node by node (ONNX keeps the nodes in
    model order)."""
    graph = model.graph
    shapes = _shapes(graph)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    scalars = scalar_constants(graph, onnx.numpy_helper)
    found, products = Found(), set()
    made: dict[str, tuple[int, ...]] = {}  # tensor -> the graph nodes its value comes from
    for index, node in enumerate(graph.node):
        label = node.name or (node.output[0] if node.output else f"{node.op_type}_{index}")
        reads = tuple(sorted({i for name in node.input for i in made.get(name, ())}))
        made.update(dict.fromkeys(node.output, reads))  # data movement passes them on
        try:
            new = _node_layers(node, label, shapes)
        except InputError as exc:
            raise exc.located(source=source) from None
        if new is not None:
            found.add(new, reads)
            made.update(dict.fromkeys(node.output, (found.nodes - 1,)))
            if node.op_type == "MatMul":
                products.update(node.output)
            continue
        default = node.domain in ("", "ai.onnx")
        if default and adds_bias(node, shapes, products):
            continue
        op = node_vector_op(node, label, shapes, opset, scalars) if default else None
        if op is None:
            found.skipped.append((label, node.op_type if default else
                                  f"{node.domain}.{node.op_type}"))
        else:
            found.add([op], reads)
            made.update(dict.fromkeys(node.output, (found.nodes - 1,)))
    return found


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _load(onnx, path: Path):
    try:
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot read ONNX file ({reason})", source=str(path)) from None
    try:
        model = onnx.load_from_string(raw)
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - protobuf and checker errors
        raise InputError(f"not a valid ONNX model ({_first_line(exc)})",
                         source=str(path)) from None
    if not model.graph.node:
        raise InputError("not a valid ONNX model (its graph has no nodes)", source=str(path))
    return model


def _fix_inputs(graph, input_shapes) -> None:
    """Give the graph inputs fixed shapes (``input_shapes``); refuse symbolic ones left."""
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if input_shapes is not None and not isinstance(input_shapes, Mapping):
        if len(inputs) != 1:
            raise InputError(f"the model has {len(inputs)} inputs; give a shape per input name",
                             field="input_shapes")
        input_shapes = {inputs[0].name: input_shapes}
    input_shapes = dict(input_shapes or {})
    unknown_names = set(input_shapes) - {value.name for value in inputs}
    if unknown_names:
        raise InputError(f"no graph input named {', '.join(map(repr, sorted(unknown_names)))}",
                         field="input_shapes")
    for value in inputs:
        dims = value.type.tensor_type.shape.dim
        if value.name in input_shapes:
            shape = [int(d) for d in input_shapes[value.name]]
            if len(shape) != len(dims) or min(shape, default=1) <= 0:
                raise InputError(f"input {value.name!r} has rank {len(dims)}; got shape "
                                 f"{tuple(shape)}", field="input_shapes")
            for dim, size in zip(dims, shape):
                dim.ClearField("dim_param")
                dim.dim_value = size
        unknown = [d.dim_param or "?" for d in dims if not d.HasField("dim_value")]
        if unknown:
            raise InputError(f"input {value.name!r} has symbolic dimensions "
                             f"({', '.join(unknown)}); give its shape", field="input_shapes")


def _shapes(graph) -> dict[str, tuple[int, ...] | None]:
    shapes: dict[str, tuple[int, ...] | None] = {t.name: tuple(t.dims) for t in graph.initializer}
    for value in (*graph.input, *graph.value_info, *graph.output):
        dims = value.type.tensor_type.shape.dim
        known = value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value")
                                                                 for d in dims)
        shapes.setdefault(value.name, tuple(d.dim_value for d in dims) if known else None)
    return shapes


def _node_layers(node, label: str, shapes) -> list[Layer] | None:
    op = node.op_type
    if node.domain not in ("", "ai.onnx"):
        return None
    if op in _REFUSED:
        raise InputError(f"node {label!r} ({op}) has weights or matrix products hwloop cannot "
                         "simulate (supported: Conv 1-D/2-D, Gemm, MatMul)")
    if op not in ("Conv", "Gemm", "MatMul"):
        return None

    def shape(value: str) -> tuple[int, ...]:
        found = shapes.get(value)
        if found is None:
            raise InputError(f"node {label!r} ({op}): the shape of {value!r} is unknown after "
                             "shape inference")
        return found

    attrs = {a.name: a for a in node.attribute}
    if op == "MatMul":
        return matmul_layers(label, shape(node.input[0]), shape(node.input[1]))
    if op == "Gemm":
        a, b = shape(node.input[0]), shape(node.input[1])
        a = a[::-1] if _int(attrs, "transA", 0) else a
        b = b[::-1] if _int(attrs, "transB", 0) else b
        return matmul_layers(label, a, b)
    x, w, out = shape(node.input[0]), shape(node.input[1]), shape(node.output[0])
    if len(x) not in (3, 4):
        raise InputError(f"node {label!r} (Conv) is a {len(x) - 2}-D convolution; hwloop "
                         "simulates 1-D and 2-D ones")
    rank = len(x) - 2
    stride = _ints(attrs, "strides", rank)
    dilation = _ints(attrs, "dilations", rank)
    return conv_layers(label, x, w, out, stride=stride, dilation=dilation,
                       groups=_int(attrs, "group", 1))


def _int(attrs, key: str, default: int) -> int:
    return int(attrs[key].i) if key in attrs else default


def _ints(attrs, key: str, rank: int) -> tuple[int, ...]:
    return tuple(int(v) for v in attrs[key].ints) if key in attrs else (1,) * rank
