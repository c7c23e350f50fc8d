import torch

from tinyml.data import labelled, split, token_batches


def test_token_batches_are_shifted_by_one():
    (x, y), = token_batches(100, 3, 8, 1)
    assert x.shape == y.shape == (3, 8)
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_token_batches_are_reproducible():
    a = [x for x, _ in token_batches(50, 2, 4, 3, seed=7)]
    b = [x for x, _ in token_batches(50, 2, 4, 3, seed=7)]
    assert all(torch.equal(p, q) for p, q in zip(a, b))
    assert not torch.equal(a[0], a[1])


def test_labels_follow_a_learnable_rule():
    x, y = labelled(16, 4, 200)
    assert x.shape == (200, 16) and y.shape == (200,)
    assert set(y.tolist()) <= {0, 1, 2, 3} and len(set(y.tolist())) > 1


def test_split_is_disjoint_and_complete():
    train, val = split(100, 0.2)
    assert len(val) == 20
    assert sorted(torch.cat([train, val]).tolist()) == list(range(100))
