"""Decoder-only LLM steps: the standard MAC count, the KV cache as the attention's filters,
and operators without MACs on the vector unit."""
from __future__ import annotations

import pytest

from hwloop.arch import get_preset
from hwloop.sim import simulate
from hwloop.traces import LLMS, InputError, decoder_macs, decoder_step, get_llm


@pytest.mark.parametrize("name", ["llama2-7b", "llama3-8b"])
@pytest.mark.parametrize("tokens, context, batch", [(2048, 2048, 1), (1, 2049, 16), (1, 2176, 1)])
def test_macs_are_the_standard_count(name, tokens, context, batch):
    config = get_llm(name)
    net = decoder_step(config, tokens=tokens, context=context, batch=batch)
    d, hd, kv = config.d_model, config.head_dim, config.kv_heads
    per_token = (d * (d + 2 * kv * hd) + 2 * config.heads * context * hd + d * d
                 + 3 * d * config.ffn)
    want = batch * (tokens * config.layers * per_token + d * config.vocab)
    assert net.macs == want == decoder_macs(config, tokens=tokens, context=context, batch=batch)


def test_the_published_shapes():
    llama2, llama3 = LLMS["llama2-7b"], LLMS["llama3-8b"]
    assert (llama2.d_model, llama2.layers, llama2.heads, llama2.kv_heads, llama2.ffn,
            llama2.vocab) == (4096, 32, 32, 32, 11008, 32000)
    assert (llama3.kv_heads, llama3.ffn, llama3.vocab) == (8, 14336, 128256)


@pytest.mark.parametrize("name", ["llama2-7b", "llama3-8b"])
def test_the_kv_cache_is_the_attentions_filters_once_per_kv_head(name):
    config = get_llm(name)
    net = decoder_step(config, tokens=1, context=1000, batch=4)
    attention = [layer for layer in net.layers if layer.name.endswith(("scores", "attn_v"))]
    weights = sum(layer.num_filters * layer.window_size * layer.groups for layer in attention)
    assert weights == config.layers * 2 * 4 * config.kv_heads * 1000 * config.head_dim


def test_operators_without_macs_and_the_graph():
    net = decoder_step(get_llm("llama-tiny"), tokens=8, context=8, batch=2)
    kinds = [op.kind.value for _, op in net.vector_ops]
    assert kinds.count("rmsnorm") == 2 * 2 + 1 and kinds.count("rotary") == 2
    assert kinds.count("softmax") == 2 and kinds.count("silu") == 2 and kinds.count("add") == 4
    nodes = list(net.in_order())
    second_add = [j for j, item in enumerate(nodes) if getattr(item, "name", "") == "l0.mlp_add"][0]
    first_add = [j for j, item in enumerate(nodes) if getattr(item, "name", "") == "l0.attn_add"][0]
    assert first_add in net.inputs[second_add]  # the residual
    accel = get_preset("scalesim_default")
    plain = simulate(net, accel)
    assert plain.totals["macs"] == net.macs
    assert (plain.layers.loc[plain.layers["array_kind"] == "vector", "macs"] == 0).all()
    kept = simulate(net, accel.with_overrides(keep_activations=True))
    assert kept.totals["dram_ofmap_writes"] < plain.totals["dram_ofmap_writes"]


def test_bad_steps_are_refused():
    with pytest.raises(InputError, match="unknown language model"):
        get_llm("gpt5")
    with pytest.raises(InputError) as info:
        decoder_step(get_llm("llama-tiny"), tokens=9, context=8)
    assert info.value.field == "tokens"
    with pytest.raises(InputError) as info:
        decoder_step(get_llm("llama-tiny"), tokens=1, context=8, batch=0)
    assert info.value.field == "batch"


def _gemms(network):
    """Every layer as (M, N, K) GEMMs: a grouped layer is one GEMM per group."""
    out = []
    for layer in network.layers:
        out += [(layer.ofmap_pixels, layer.num_filters, layer.window_size)] * layer.groups
    return sorted(out)


@pytest.mark.parametrize("tokens, context, batch", [(8, 8, 2), (1, 12, 3)])
def test_the_torch_decoder_gives_the_same_gemms_and_macs(tokens, context, batch):
    pytest.importorskip("torch")
    from hwloop.traces import network_from_torch, torch_decoder

    config = get_llm("llama-tiny")
    module, inputs = torch_decoder(config, tokens=tokens, context=context, batch=batch)
    imported = network_from_torch(module, inputs)
    built_in = decoder_step(config, tokens=tokens, context=context, batch=batch)
    assert _gemms(imported) == _gemms(built_in)
    assert imported.macs == built_in.macs
