"""Decoder-only language models by their published shapes (no weights): the GEMMs and
vector operators of one prefill or one decode step, as a :class:`Network`.

One step of ``tokens`` new positions per sequence, for ``batch`` sequences, attending to
``context`` positions (prefill: ``tokens = context = prompt``, the causal mask not exploited;
decode step ``i``: one token attending to ``prompt + i`` cached positions). Per
transformer layer, in order: RMSNorm, the fused Q/K/V projection, rotary embeddings on Q
and K, attention, the output projection, the residual add, RMSNorm, the gated MLP (gate and
up projections, SiLU, their product, the down projection), the residual add; then the
final RMSNorm and the LM head for the last position of each sequence.

Attention is two grouped convolutions, one group per (sequence, KV head): the ``heads /
kv_heads`` query heads that share a KV head are its pixels, so the keys and values (the KV
cache, read from DRAM) are the filters and count once per KV head, and the MACs are the
standard ``2 * heads * context * head_dim`` per token. MACs per layer and token:
``d * (d + 2 * kv_heads * head_dim)`` (Q/K/V), ``2 * heads * context * head_dim``
(scores, attention x V), ``d * d`` (output), ``3 * d * ffn`` (MLP); ``d * vocab`` per
position that produces a token (LM head).
"""
from __future__ import annotations

from dataclasses import dataclass

from ._errors import InputError
from ._layer import Layer
from ._network import Network
from ._vector_op import VectorKind, VectorOp


@dataclass(frozen=True, kw_only=True)
class DecoderConfig:
    """A decoder-only transformer's shapes."""

    name: str
    d_model: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int

    def __post_init__(self) -> None:
        for field in ("d_model", "layers", "heads", "kv_heads", "ffn", "vocab"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InputError(f"must be a positive integer, got {value!r}", field=field)
        if self.d_model % self.heads or self.heads % self.kv_heads:
            raise InputError("heads must divide d_model, and kv_heads must divide heads",
                             field="heads")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.heads


#: Published shapes. Llama 2 7B: Touvron et al., "Llama 2" (2023), and its released
#: config (d 4096, 32 layers, 32 heads, FFN 11008, vocabulary 32000). Llama 3 8B: Meta's
#: model card and config (d 4096, 32 layers, 32 heads, 8 KV heads, FFN 14336, vocabulary
#: 128256). ``llama-tiny``: a small one of the same form, for tests.
LLMS: dict[str, DecoderConfig] = {
    "llama2-7b": DecoderConfig(name="llama2-7b", d_model=4096, layers=32, heads=32, kv_heads=32,
                               ffn=11008, vocab=32000),
    "llama3-8b": DecoderConfig(name="llama3-8b", d_model=4096, layers=32, heads=32, kv_heads=8,
                               ffn=14336, vocab=128256),
    "llama-tiny": DecoderConfig(name="llama-tiny", d_model=64, layers=2, heads=4, kv_heads=2,
                                ffn=172, vocab=256),
}


def get_llm(name: str) -> DecoderConfig:
    try:
        return LLMS[name]
    except KeyError:
        raise InputError(f"unknown language model {name!r}; choose {', '.join(LLMS)}",
                         field="network") from None


class _Builder:
    """Nodes in model order, each with the nodes it reads (``Network.inputs``)."""

    def __init__(self) -> None:
        self.layers: list[Layer] = []
        self.ops: list[tuple[int, VectorOp]] = []
        self.inputs: list[tuple[int, ...]] = []

    def layer(self, layer: Layer, *reads: int | None) -> int:
        self.layers.append(layer)
        return self._node(reads)

    def op(self, op: VectorOp, *reads: int | None) -> int:
        self.ops.append((len(self.layers), op))
        return self._node(reads)

    def _node(self, reads: tuple[int | None, ...]) -> int:
        self.inputs.append(tuple(sorted({r for r in reads if r is not None})))
        return len(self.inputs) - 1


def decoder_step(config: DecoderConfig, *, tokens: int, context: int, batch: int = 1,
                 produce: int | None = None, name: str | None = None) -> Network:
    """One step: ``tokens`` new positions per sequence attending to ``context`` positions,
    for ``batch`` sequences; the LM head runs for ``produce`` positions per sequence (the
    last one by default)."""
    for field, value in (("tokens", tokens), ("context", context), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InputError(f"must be a positive integer, got {value!r}", field=field)
    if tokens > context:
        raise InputError(f"{tokens} new positions cannot attend to {context}", field="tokens")
    c, rows, b = config, batch * tokens, _Builder()
    d, hd, group = c.d_model, c.head_dim, c.heads // c.kv_heads
    x = None  # the residual stream's producer (None: the embeddings, from DRAM)
    for i in range(c.layers):
        p = f"l{i}."
        norm = b.op(VectorOp(name=p + "attn_norm", kind=VectorKind.RMSNORM, elements=rows * d, row=d), x)
        qkv = b.layer(Layer.gemm(p + "qkv", rows, d + 2 * c.kv_heads * hd, d), norm)
        rope = b.op(VectorOp(name=p + "rotary", kind=VectorKind.ROTARY,
                             elements=rows * (c.heads + c.kv_heads) * hd), qkv)
        groups = batch * c.kv_heads
        scores = b.layer(Layer(name=p + "scores", ifmap_h=tokens * group, ifmap_w=1, filter_h=1,
                               filter_w=1, channels=groups * hd, num_filters=context,
                               conv_groups=groups), rope)
        soft = b.op(VectorOp(name=p + "softmax", kind=VectorKind.SOFTMAX,
                             elements=rows * c.heads * context, row=context), scores)
        av = b.layer(Layer(name=p + "attn_v", ifmap_h=tokens * group, ifmap_w=1, filter_h=1,
                           filter_w=1, channels=groups * context, num_filters=hd,
                           conv_groups=groups), soft, qkv)
        out = b.layer(Layer.gemm(p + "o_proj", rows, d, d), av)
        x = b.op(VectorOp(name=p + "attn_add", kind=VectorKind.ADD, elements=rows * d, operands=2),
                 out, x)  # the first layer's residual is the embeddings, from DRAM
        norm = b.op(VectorOp(name=p + "mlp_norm", kind=VectorKind.RMSNORM, elements=rows * d, row=d), x)
        gate = b.layer(Layer.gemm(p + "gate", rows, c.ffn, d), norm)
        up = b.layer(Layer.gemm(p + "up", rows, c.ffn, d), norm)
        act = b.op(VectorOp(name=p + "silu", kind=VectorKind.SILU, elements=rows * c.ffn), gate)
        both = b.op(VectorOp(name=p + "gate_up", kind=VectorKind.MUL, elements=rows * c.ffn, operands=2),
                    act, up)
        down = b.layer(Layer.gemm(p + "down", rows, d, c.ffn), both)
        x = b.op(VectorOp(name=p + "mlp_add", kind=VectorKind.ADD, elements=rows * d, operands=2),
                 down, x)
    heads = batch * (1 if produce is None else produce)
    norm = b.op(VectorOp(name="final_norm", kind=VectorKind.RMSNORM, elements=heads * d, row=d), x)
    b.layer(Layer.gemm("lm_head", heads, c.vocab, d), norm)
    return Network(name=name or f"{c.name}_t{tokens}_c{context}_b{batch}", layers=tuple(b.layers),
                   vector_ops=tuple(b.ops), inputs=tuple(b.inputs))


def decoder_macs(config: DecoderConfig, *, tokens: int, context: int, batch: int = 1,
                 produce: int = 1) -> int:
    """The standard count for one step (see the module's docstring)."""
    c, hd = config, config.head_dim
    per_token = (c.d_model * (c.d_model + 2 * c.kv_heads * hd) + 2 * c.heads * context * hd
                 + c.d_model * c.d_model + 3 * c.d_model * c.ffn)
    return batch * (tokens * c.layers * per_token + produce * c.d_model * c.vocab)
