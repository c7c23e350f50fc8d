"""Random but reproducible training data, and a character tokenizer for the language model."""
import torch

UNK = 0


class CharTokenizer:
    """Maps each character of an alphabet to an id from 1; anything else is UNK (0)."""

    def __init__(self, alphabet):
        self.alphabet = "".join(dict.fromkeys(alphabet))
        self.ids = {c: i + 1 for i, c in enumerate(self.alphabet)}

    @property
    def vocab(self):
        return len(self.alphabet) + 1

    def encode(self, text):
        return [self.ids.get(c, UNK) for c in text]

    def decode(self, ids):
        return "".join(self.alphabet[i - 1] if 0 < i <= len(self.alphabet) else "?" for i in ids)


def token_batches(vocab, batch, context, count, seed=0):
    """count (inputs, targets) pairs of shape (batch, context): targets are the inputs shifted by one token."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        seq = torch.randint(0, vocab, (batch, context + 1), generator=g)
        yield seq[:, :-1], seq[:, 1:]


def labelled(features, classes, n, seed=0):
    """n random feature vectors and labels a linear rule gives them, so that a model can learn something."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, classes, generator=g)
    return x, (x @ w).argmax(dim=1)


def split(n, val_fraction, seed=0):
    """Disjoint train and validation index tensors covering range(n)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    k = int(n * val_fraction)
    return perm[k:], perm[:k]
