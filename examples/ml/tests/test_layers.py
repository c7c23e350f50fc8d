import torch
from torch import nn

from tinyml.models import MLPClassifier, TinyLM, causal_mask, lm_for, mlp_for, parameters_bytes, train_step


def test_causal_mask_hides_the_future():
    m = causal_mask(4)
    assert torch.isinf(m[0, 1:]).all() and (m.tril() == 0).all()


def test_attention_rows_are_distributions():
    w = torch.softmax(torch.randn(5, 5) + causal_mask(5), dim=-1)
    assert torch.allclose(w.sum(dim=-1), torch.ones(5))
    assert (w.triu(diagonal=1) == 0).all()


def test_tiny_lm_output_shape():
    model = TinyLM(vocab=50, d_model=32, layers=1, heads=2, context=8)
    assert model(torch.randint(0, 50, (3, 8))).shape == (3, 8, 50)


def test_lm_does_not_look_ahead():
    model = TinyLM(vocab=30, d_model=32, layers=2, heads=2, context=6).eval()
    x = torch.randint(0, 30, (1, 6))
    y = x.clone()
    y[0, -1] = (x[0, -1] + 1) % 30          # change only the last token
    with torch.no_grad():
        assert torch.allclose(model(x)[0, :-1], model(y)[0, :-1], atol=1e-5)


def test_sizing_grows_with_the_target():
    small, _ = mlp_for(8 << 20)
    big, _ = mlp_for(32 << 20)
    assert parameters_bytes(big) > 3 * parameters_bytes(small)
    lm_small, _ = lm_for(32 << 20, vocab=1000)
    lm_big, _ = lm_for(128 << 20, vocab=1000)
    assert parameters_bytes(lm_big) > 3 * parameters_bytes(lm_small)


def test_small_classifier_learns():
    torch.manual_seed(0)
    model = MLPClassifier(8, 32, 2, 2)
    x = torch.randn(64, 8)
    y = (x[:, 0] > 0).long()
    losses = [train_step(model, x, y, lr=0.5) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]


def test_gradients_match_finite_differences():
    layer = nn.Linear(3, 2).double()
    assert torch.autograd.gradcheck(lambda x: torch.tanh(layer(x)), torch.randn(4, 3, dtype=torch.double,
                                                                              requires_grad=True))
