"""A small transformer language model of MODEL_MB / 4 (375 MiB by default): one training step, a loss near
ln(vocab) before training, and a gradient for every parameter."""
import math

import pytest
import torch

from tinyml.data import token_batches
from tinyml.memory import MIB, model_mb
from tinyml.models import lm_for, train_step

pytestmark = pytest.mark.model


def test_language_model_step(resident):
    target = model_mb() // 4 * MIB

    def run():
        model, batch = lm_for(target)
        x, y = next(token_batches(model.head.out_features, batch, model.context, 1))
        logits = model(x)
        return model, logits.shape, (batch, model.context), train_step(model, x, y)

    model, shape, want, loss = resident(target, run)
    assert shape == want + (model.head.out_features,)
    assert abs(loss - math.log(model.head.out_features)) < 1.0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
