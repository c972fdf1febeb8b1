"""Small torch definitions of the built-in networks, for importing models without downloads.

Every built-in topology has one here, with its layers in the CSV's order (the vector
operators of ``builtin_network(name, vector_ops=True)`` are imported from them).
ResNet-18 and MobileNet-V2 follow torchvision's layer order and shapes (the built-in CSV
topologies list the same convolutions); the ViT block is one pre-norm transformer encoder
block with explicit ``q @ k^T`` and ``p @ v`` products. Weights are random: only shapes
matter here. This module imports torch when it is imported (``torch_model`` loads it).
"""
from __future__ import annotations

import torch
from torch import nn

from ._errors import InputError


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1,
             relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([nn.ReLU6(inplace=True)] if relu else []))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, cin, stages = (64, 128, 256, 512), 64, []
        for i, width in enumerate(widths):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(cin, width, stride),
                                        BasicBlock(width, width, 1)))
            cin = width
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [_conv_bn(cin, hidden, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   _conv_bn(hidden, cout, 1, relu=False)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    #: (expansion, channels, blocks, first stride), as in the paper and torchvision
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        cin = 32
        for expand, cout, blocks, stride in self.SETTINGS:
            for i in range(blocks):
                layers.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expand))
                cin = cout
        layers.append(_conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        p = torch.matmul(q, k.transpose(-2, -1)) * self.scale
        out = torch.matmul(p.softmax(dim=-1), v)
        return self.proj(out.transpose(1, 2).reshape(b, t, d))


class ViTBlock(nn.Module):
    """A pre-norm transformer encoder block (ViT-Base sizes by default)."""

    def __init__(self, dim: int = 768, heads: int = 12, mlp: int = 3072) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class BertBlock(nn.Module):
    """A post-norm BERT-Base encoder block as the ``transformer_block`` topology lists it:
    separate q, k, v projections, then each head's scores, softmax and context in turn."""

    def __init__(self, dim: int = 768, heads: int = 12, ffn: int = 3072) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(dim, dim) for _ in range(3))
        self.out_proj = nn.Linear(dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn_up, self.ffn_down = nn.Linear(dim, ffn), nn.Linear(ffn, dim)
        self.act = nn.GELU()

    def forward(self, x):
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        width = x.shape[-1] // self.heads
        context = []
        for h in range(self.heads):
            part = slice(h * width, (h + 1) * width)
            scores = torch.matmul(q[..., part], k[..., part].transpose(-2, -1)) * self.scale
            context.append(torch.matmul(scores.softmax(dim=-1), v[..., part]))
        x = self.norm1(x + self.out_proj(torch.cat(context, dim=-1)))
        return self.norm2(x + self.ffn_down(self.act(self.ffn_up(x))))


class DQN(nn.Module):
    """The Atari DQN (Mnih et al., Nature 2015): three convs and two fully connected layers."""

    def __init__(self, actions: int = 18) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2),
                                      nn.ReLU(), nn.Conv2d(64, 64, 3, 1), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, actions))

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class MLP(nn.Module):
    """784-1024-1024-1024-10 with ReLUs (the ``mlp`` topology, run at batch 64)."""

    def __init__(self) -> None:
        super().__init__()
        sizes = (784, 1024, 1024, 1024, 10)
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(sizes, sizes[1:])):
            layers += [nn.Linear(cin, cout)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class AlexNetFeatures(nn.Module):
    """AlexNet's five convolutions with their ReLUs and max pools (the ``alexnet`` topology
    lists the convolutions only; its input sizes are these with the padding folded in)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, 4), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))

    def forward(self, x):
        return self.features(x)


class _DecoderBlock(nn.Module):
    def __init__(self, d: int, heads: int, kv_heads: int, ffn: int) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, d // heads
        self.attn_norm, self.mlp_norm = nn.RMSNorm(d), nn.RMSNorm(d)
        self.qkv = nn.Linear(d, d + 2 * kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)
        self.gate = nn.Linear(d, ffn, bias=False)
        self.up = nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cache_k, cache_v):
        b, t, d = x.shape
        kv, hd = self.kv_heads, self.head_dim
        group = self.heads // kv
        q, k, v = self.qkv(self.attn_norm(x)).split([d, kv * hd, kv * hd], dim=-1)
        # the query heads that share a KV head, stacked as rows: (b, kv, group * t, hd)
        q = q.reshape(b, t, kv, group, hd).permute(0, 2, 3, 1, 4).reshape(b, kv, group * t, hd)
        k = torch.cat([cache_k, k.reshape(b, t, kv, hd).transpose(1, 2)], dim=2)
        v = torch.cat([cache_v, v.reshape(b, t, kv, hd).transpose(1, 2)], dim=2)
        p = torch.matmul(q, k.transpose(-2, -1)).softmax(dim=-1)
        out = torch.matmul(p, v).reshape(b, kv, group, t, hd).permute(0, 3, 1, 2, 4)
        x = x + self.o_proj(out.reshape(b, t, d))
        h = self.mlp_norm(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


class Decoder(nn.Module):
    """A decoder-only LLM step in torch, the same GEMMs as ``hwloop.traces.decoder_step``:
    ``forward(x, cache_k, cache_v)`` takes ``tokens`` new embeddings per sequence and each
    layer's cached keys and values (``layers x batch x kv_heads x cached x head_dim``); the
    LM head runs for the last position (no rotary embeddings: they have no MACs)."""

    def __init__(self, d: int, layers: int, heads: int, kv_heads: int, ffn: int,
                 vocab: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_DecoderBlock(d, heads, kv_heads, ffn)
                                    for _ in range(layers))
        self.final_norm = nn.RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, x, cache_k, cache_v):
        for i, block in enumerate(self.blocks):
            x = block(x, cache_k[i], cache_v[i])
        return self.lm_head(self.final_norm(x[:, -1:, :]))


def torch_decoder(config, *, tokens: int, context: int,
                  batch: int = 1) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """``Decoder`` for a :class:`hwloop.traces.DecoderConfig` and the example inputs of one
    step (``tokens`` new positions attending to ``context``); weights random (seed 0)."""
    c, cached = config, context - tokens
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = Decoder(c.d_model, c.layers, c.heads, c.kv_heads, c.ffn, c.vocab)
        shape = (c.layers, batch, c.kv_heads, cached, c.head_dim)
        return module, (torch.randn(batch, tokens, c.d_model), torch.randn(shape),
                        torch.randn(shape))


#: name -> (module class, example input shape)
_MODELS = {"resnet18": (ResNet18, (1, 3, 224, 224)),
           "mobilenet_v2": (MobileNetV2, (1, 3, 224, 224)),
           "vit_block": (ViTBlock, (1, 197, 768)),
           "transformer_block": (BertBlock, (1, 512, 768)),
           "dqn": (DQN, (1, 4, 84, 84)),
           "mlp": (MLP, (64, 784)),
           "alexnet": (AlexNetFeatures, (1, 3, 227, 227))}


def torch_model(name: str) -> tuple[nn.Module, torch.Tensor]:
    """A torch definition of a network and an example input for it: every built-in topology
    (``resnet18``, ``mobilenet_v2``, ``transformer_block``, ``dqn``, ``mlp``, ``alexnet``,
    with the same layers in the same order) and ``vit_block`` (one ViT-Base block on 197
    tokens). Weights are random (seed 0)."""
    if name not in _MODELS:
        raise InputError(f"unknown torch model {name!r}; choose from {', '.join(_MODELS)}",
                         field="name")
    cls, shape = _MODELS[name]
    with torch.random.fork_rng():  # leave the caller's random state alone
        torch.manual_seed(0)
        return cls(), torch.randn(shape)
