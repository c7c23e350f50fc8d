"""Two model families built with torch.nn, sized from a memory target: the bytes that one training step keeps
resident at its peak (fp32 parameters, their gradients, and the activations saved for the backward pass).
Nothing is downloaded: the weights are the initialisation, the data random."""
import math

import torch
from torch import nn

FLOAT = 4                   # bytes of a float32


class MLPClassifier(nn.Module):
    """Dense classifier: most of its memory is parameters and gradients."""

    def __init__(self, in_features, width, depth, classes):
        super().__init__()
        layers = [nn.Linear(in_features, width), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.ReLU()]
        layers.append(nn.Linear(width, classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def mlp_for(target_bytes, in_features=512, depth=6, classes=10, batch=4):
    """An MLPClassifier whose parameters and gradients take about target_bytes (8 bytes per parameter), and
    the batch size to train it with (small: CPU time grows with batch times parameters, memory barely)."""
    width = max(32, int(math.sqrt(target_bytes / (2 * FLOAT * depth))) // 32 * 32)
    return MLPClassifier(in_features, width, depth, classes), batch


class TinyLM(nn.Module):
    """A decoder-only language model: token and position embeddings, pre-norm transformer layers under a causal
    mask, and an output head over the vocabulary."""

    def __init__(self, vocab, d_model, layers, heads, context):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab, bias=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.tok(tokens) + self.pos(torch.arange(t, device=tokens.device))
        x = self.blocks(x, mask=causal_mask(t))
        return self.head(self.norm(x))


def causal_mask(t):
    """Float mask: 0 where position i may attend to j (j <= i), -inf above the diagonal."""
    return torch.triu(torch.full((t, t), float("-inf")), diagonal=1)


def lm_for(target_bytes, vocab=32000, layers=2, context=16, batch=2):
    """A TinyLM whose parameters and gradients take about 90% of target_bytes (8 bytes per parameter: 12 d^2
    per layer, 2 vocab d for the embedding and the head), and the batch size to train it with. Most of its
    parameters are in the vocabulary, as in small language models with a large tokenizer."""
    a, b = 8 * 12 * layers, 8 * (2 * vocab + context)
    d = (-b + math.sqrt(b * b + 4 * a * 0.9 * target_bytes)) / (2 * a)
    d_model = max(64, int(d) // 64 * 64)
    return TinyLM(vocab, d_model, layers, d_model // 64, context), batch


def parameters_bytes(model):
    return sum(p.numel() for p in model.parameters()) * FLOAT


def train_step(model, inputs, targets, lr=0.01):
    """One step of plain SGD (no optimizer state); returns the loss before the step."""
    model.train()
    model.zero_grad(set_to_none=True)
    out = model(inputs)
    loss = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), targets.reshape(-1))
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(p.grad, alpha=-lr)
    return loss.item()
