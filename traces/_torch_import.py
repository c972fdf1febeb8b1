"""A :class:`Network` from a torch ``nn.Module`` and an example input.

torch is imported inside the functions, so ``import hwloop.traces`` never needs it. The
module is traced with ``torch.fx`` (shapes from ``ShapeProp``); a module fx cannot trace
(data-dependent control flow, as in ``nn.MultiheadAttention``) is run once instead, with
forward hooks naming the running module and a dispatch mode recording the aten operators
it issues. :mod:`._lowering` turns shapes into layers, :mod:`._torch_vector` operators
without MACs into vector ops.
"""
from __future__ import annotations

import logging
import operator
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ._errors import InputError
from ._layer import Layer, LayerKind
from ._lowering import conv_layers, matmul_layers
from ._network import Network
from ._torch_vector import (
    ADDS,
    Found,
    Items,
    Operand,
    attention_ops,
    function_vector_op,
    is_bias,
    module_vector_op,
)

logger = logging.getLogger(__name__)

#: fx functions and Tensor methods that are matrix products: name -> operand positions.
_MATMULS = {"matmul": (0, 1), "mm": (0, 1), "bmm": (0, 1), "__matmul__": (0, 1), "mv": (0, 1),
            "dot": (0, 1), "vdot": (0, 1), "addmm": (1, 2), "baddbmm": (1, 2),
            "addbmm": (1, 2), "addmv": (1, 2)}
#: Functions with MACs that fx-level lowering does not know; the recorded run decomposes them
#: into the products it can lower, or refuses them by name.
_DECOMPOSED = {"einsum", "tensordot", "chain_matmul", "multi_dot", "multi_head_attention_forward",
               "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "bilinear",
               "inner", "outer", "kron", "lstm", "gru", "rnn_tanh", "rnn_relu"}
#: Substrings of aten operators with MACs that cannot be lowered (after the handled ones).
_REFUSED_ATEN = ("conv", "rnn", "lstm", "gru", "trilinear", "_mm", "matmul", "attention")
#: aten operators that move or create data only, left out of the not-simulated list.
_QUIET_ATEN = {"_unsafe_view", "clone", "contiguous", "detach", "alias", "lift_fresh",
               "lift_fresh_copy", "_to_copy", "copy_", "empty", "zeros", "ones", "arange",
               "full", "scalar_tensor", "zeros_like", "ones_like", "empty_like"}


class _Fallback(Exception):
    """fx traced the module but met an operator only a recorded run can lower."""


def network_from_torch(module: Any, example_input: Any, *, name: str | None = None) -> Network:
    """The convolutions and matrix products ``module`` runs on ``example_input`` (a tensor
    or a tuple of them), as a :class:`Network`.

    Conv1d/Conv2d (any stride, padding, dilation, groups), Linear, ``matmul``/``bmm``/``@``
    and ``F.scaled_dot_product_attention`` become layers (see :mod:`hwloop.traces._lowering`
    for batches and padding). Operators without MACs become ``Network.vector_ops`` between
    the layers (activations, softmax, norms, inference batch norm, pools, elementwise
    arithmetic, the softmax of fused attention; see :mod:`hwloop.traces._torch_vector`);
    reshapes, views, dropout, data movement and the operators no vector kind fits (tanh,
    exp, ...) are listed in ``Network.not_simulated``. An operator with weights or matrix
    products hwloop cannot lower (Conv3d, ConvTranspose2d, LSTM, ...) raises
    :class:`InputError` naming it.
    """
    import torch

    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    if not all(isinstance(x, torch.Tensor) for x in inputs):
        raise InputError("the example input must be a tensor or a tuple of tensors",
                         field="example_input")
    name = name or type(module).__name__
    with _eval_mode(module):
        try:
            found = _fx_ops(module, inputs)
        except InputError as exc:
            raise exc.located(source=name) from None
        except Exception as exc:  # noqa: BLE001 - any fx failure: record a run instead
            logger.info("torch.fx cannot trace %s (%s); recording a run with hooks", name,
                        f"{type(exc).__name__}: {exc}".splitlines()[0])
            try:
                found = _hooked_ops(module, inputs)
            except InputError as exc2:
                raise exc2.located(source=name) from None
            except Exception as exc2:  # noqa: BLE001 - the model's own failure
                raise InputError(f"the model fails on the example input: "
                                 f"{type(exc2).__name__}: {exc2}", source=name) from None
    if not found.layers:
        raise InputError("the model has no convolution or matrix product to simulate",
                         source=name)
    return Network(name=name, layers=tuple(found.layers), not_simulated=tuple(found.skipped),
                   vector_ops=tuple(found.vector_ops), inputs=found.graph)


@contextmanager
def _eval_mode(module):
    """Run in eval mode (no dropout, no batch-norm statistics update); restore each flag."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


def _refused(name: str, op: str) -> InputError:
    return InputError(f"operator {name!r} ({op}) has weights or matrix products hwloop cannot "
                      "simulate (supported: Conv1d/Conv2d, Linear, matmul/bmm/@, "
                      "scaled_dot_product_attention)")


def _check_module(name: str, m) -> None:
    from torch import nn

    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        return  # any padding mode: the padding is folded into the input size
    if isinstance(m, (nn.modules.conv._ConvNd, nn.RNNBase, nn.RNNCellBase, nn.Bilinear)):
        raise _refused(name, type(m).__name__)


def _module_layers(name: str, m, x, out) -> list[Layer] | None:
    """Layers of a Conv/Linear module (None for other modules)."""
    from torch import nn

    _check_module(name, m)
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        return conv_layers(name, x, tuple(m.weight.shape), out, stride=m.stride,
                           dilation=m.dilation, groups=m.groups)
    if isinstance(m, nn.Linear):
        return matmul_layers(name, x, (m.in_features, m.out_features))
    return None


# --- torch.fx -----------------------------------------------------------------------------

def _fx_ops(module, inputs) -> Found:
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    class Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname: str) -> bool:
            # torch.nn's atomic modules; composite ones (MultiheadAttention) are traced through
            return super().is_leaf_module(m, qualname) and not any(True for _ in m.children())

    class Props(ShapeProp):  # keeps sizes computed in the model (x.shape[-2:]) too
        def run_node(self, n):
            value = super().run_node(n)
            if isinstance(value, (int, float, tuple)) and all(
                    isinstance(v, int) for v in (value if isinstance(value, tuple) else ())):
                n.meta["value"] = value
            return value

    tracer = Tracer()
    graph = tracer.trace(module)
    gm = fx.GraphModule(tracer.root, graph)
    Props(gm).propagate(*inputs)
    found = Found()
    products: set = set()  # nodes whose value is a matrix product's (for a bias after it)
    made: dict = {}  # fx node -> the graph nodes its value comes from (data movement passes)
    for node in gm.graph.nodes:
        reads = tuple(sorted({i for arg in node.all_input_nodes for i in made.get(arg, ())}))
        made[node] = reads if _shape(node) is not None else ()  # sizes carry no data
        if node.op not in ("call_module", "call_function", "call_method"):
            continue
        name, op, items = _fx_node(gm, node, products)
        if items is None:
            if _shape(node) is not None:  # a tensor-valued operator left out
                found.skipped.append((name, op))
            continue
        if items:
            found.add(items, reads)
            made[node] = (found.nodes - 1,)
        if any(isinstance(item, Layer) and item.kind is LayerKind.GEMM for item in items):
            products.add(node)
    return found


def _fx_node(gm, node, products: set) -> tuple[str, str, Items | None]:
    """A node's name, its operator, and its layers or vector op (an empty list: a bias that
    belongs to a matrix product; None: neither)."""
    from torch.fx.node import map_arg

    x, out = _shape(node.args[0]) if node.args else None, _shape(node)
    if node.op == "call_module":
        m = gm.get_submodule(node.target)
        layers = _module_layers(node.target, m, x, out)
        vector = None if layers is not None else module_vector_op(node.target, m, x, out)
        return node.target, type(m).__name__, layers if vector is None else [vector]
    name = _fx_label(node)
    op = node.target if node.op == "call_method" else _function_name(node.target)
    new = _fx_function_layers(node, name, op)
    if new is not None:
        return name, op, new
    if op.strip("_") in ADDS and out is not None and len(node.args) == 2:
        a, b = node.args
        if any(p in products and is_bias(out, _shape(o)) for p, o in ((a, b), (b, a))):
            return name, op, []
    args, kwargs = map_arg((node.args, node.kwargs), _fx_operand)
    vector = function_vector_op(name, op, args, kwargs, out)
    return name, op, None if vector is None else [vector]


def _fx_operand(node) -> Any:
    """A traced value as :mod:`._torch_vector` takes it: a tensor's :class:`Operand`, else
    the number or size the model computed (None if neither)."""
    shape = _shape(node)
    return node.meta.get("value") if shape is None else Operand(shape)


def _function_name(target) -> str:
    if target is operator.matmul:
        return "matmul"
    return getattr(target, "__name__", str(target))


def _fx_label(node) -> str:
    """``module.path.node_name`` for a function called inside a submodule's forward."""
    stack = node.meta.get("nn_module_stack")
    scope = next(reversed(stack.values()))[0] if stack else ""
    return f"{scope}.{node.name}" if scope else node.name


def _fx_function_layers(node, name: str, op: str) -> Items | None:
    args = node.args
    if op in _MATMULS:
        a, b = (_shape(args[i]) for i in _MATMULS[op])
        return matmul_layers(name, a, b)
    if op == "linear":
        w = _tensor_shape(args[1] if len(args) > 1 else node.kwargs["weight"])
        return matmul_layers(name, _shape(args[0]), (w[1], w[0]))
    if op in ("conv1d", "conv2d"):
        params = dict(zip(("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
                          args), **node.kwargs)
        rank = len(_tensor_shape(params["input"])) - 2
        stride, dilation = (_pair(params.get(k, 1), rank) for k in ("stride", "dilation"))
        return conv_layers(name, _tensor_shape(params["input"]), _tensor_shape(params["weight"]),
                           _tensor_shape(node), stride=stride, dilation=dilation,
                           groups=int(params.get("groups", 1)))
    if op == "scaled_dot_product_attention":
        return attention_ops(name, *(_tensor_shape(a) for a in args[:3]))
    if op in _DECOMPOSED:
        raise _Fallback(op)
    return None


def _pair(value, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * rank


def _shape(value) -> tuple[int, ...] | None:
    """Shape of an fx node's tensor value (None if not a tensor)."""
    meta = getattr(value, "meta", {}).get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return None if shape is None else tuple(int(d) for d in shape)


def _tensor_shape(value) -> tuple[int, ...]:
    """:func:`_shape` of an operand that must be a tensor; a TypeError (fx then gives way to
    a recorded run, as for any fx failure) if it is not."""
    shape = _shape(value)
    if shape is None:
        raise TypeError(f"not a tensor: {value!r}")
    return shape


# --- a recorded run -----------------------------------------------------------------------

@dataclass
class _Frame:
    """A running module, as the recorded run sees it."""

    name: str
    #: no children: its first matrix product takes the module's name
    leaf: bool
    #: a torch.nn module without children: one operator, whatever aten calls it issues
    atomic: bool
    #: matrix products it has issued
    macs: int = 0
    #: vector ops it has issued, by operator (to number their names)
    ops: Counter = field(default_factory=Counter)


def _hooked_ops(module, inputs) -> Found:
    """Run ``module`` once; hooks keep a stack of running modules, and a dispatch mode turns
    each aten operator into layers or a vector op named after the module that issued it. A
    torch.nn module without children is one operator (a ReLU is one op, not its aten calls)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    names = {m: n or type(m).__name__ for n, m in module.named_modules()}
    stack = [_Frame(type(module).__name__, leaf=False, atomic=False)]
    found = Found()
    product: list = []  # the last matrix product's output (for a bias added to it)

    def pre(m, args):
        _check_module(names[m], m)
        leaf = not any(True for _ in m.children())
        atomic = leaf and type(m).__module__.startswith(("torch.nn.", "torch.ao.nn."))
        stack.append(_Frame(names[m], leaf=leaf, atomic=atomic))

    def post(m, args, out):
        frame = stack.pop()
        if frame.atomic and not frame.macs:
            op = module_vector_op(frame.name, m, _aten_shape(args[0] if args else None),
                                  _aten_shape(out))
            found.vector(op, frame.name, type(m).__name__)

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            _record(found, stack[-1], func, args, kwargs or {}, out, product)
            return out

    handles = [h for m in module.modules()
               for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    try:
        with torch.enable_grad(), Recorder():  # grad on: attention takes its unfused path
            module(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return found


def _record(found: Found, frame: _Frame, func, args, kwargs, out, product: list) -> None:
    """One aten call of ``frame``'s module: its layers, else (outside a torch.nn module's
    own code) its vector op or its listing as not simulated."""
    op = _aten_name(func)
    if frame.leaf and frame.macs == 0:  # a Linear or Conv module's own product
        base = frame.name
    else:
        base = f"{frame.name}.{_short_name(op)}" + (f"_{frame.macs}" if frame.macs else "")
    new = _aten_layers(base, func, args, out)
    if new:
        frame.macs += 1
        found.add(new)
        product[:] = [out] if op in _MATMULS and hasattr(out, "untyped_storage") else []
        return
    if frame.atomic or func.is_view or op in _QUIET_ATEN:
        return
    if op.strip("_") in ADDS and _adds_bias(args, out, product):
        return
    short = op.strip("_")
    name = f"{frame.name}.{short}" + (f"_{frame.ops[short]}" if frame.ops[short] else "")
    operands = [Operand(tuple(a.shape)) if hasattr(a, "untyped_storage") else a for a in args]
    if found.vector(function_vector_op(name, op, operands, kwargs, _aten_shape(out)),
                    frame.name, op):
        frame.ops[short] += 1


def _adds_bias(args, out, product: list) -> bool:
    """Whether an aten add adds a bias to the last matrix product's output (a linear layer
    run as a product, then an add)."""
    if not product or len(args) < 2 or not hasattr(args[0], "untyped_storage"):
        return False
    same = args[0].untyped_storage().data_ptr() == product[0].untyped_storage().data_ptr()
    return same and is_bias(tuple(out.shape), _aten_shape(args[1]))


def _aten_shape(value) -> tuple[int, ...] | None:
    """A tensor's shape, or the first tensor's of a tuple (``native_layer_norm`` returns its
    mean and rstd too); None if there is none."""
    if isinstance(value, (tuple, list)):
        value = value[0] if value else None
    return tuple(int(d) for d in value.shape) if hasattr(value, "untyped_storage") else None


def _short_name(op: str) -> str:
    return "attention" if "scaled_dot_product" in op else "conv" if op == "convolution" else op


def _aten_name(func) -> str:
    return func.overloadpacket.__name__


def _aten_layers(name: str, func, args, out) -> Items:
    op = _aten_name(func)
    shapes: list[Any] = [tuple(a.shape) if hasattr(a, "shape") else a for a in args]
    if op in _MATMULS:
        a, b = (shapes[i] for i in _MATMULS[op])
        return matmul_layers(name, a, b)
    if op == "convolution":
        x, w, _, stride, _, dilation, transposed, _, groups = shapes[:9]
        if transposed:
            raise _refused(name, "ConvTranspose")
        if len(w) not in (3, 4):
            raise _refused(name, f"Conv{len(w) - 2}d")
        return conv_layers(name, x, w, tuple(out.shape), stride=stride, dilation=dilation,
                           groups=groups)
    if op.startswith("_scaled_dot_product") and "backward" not in op:
        return attention_ops(name, *shapes[:3])
    if any(s in op for s in _REFUSED_ATEN):
        raise _refused(name, op)
    return []
