"""The largest model, MODEL_MB (1500 MiB by default) of parameters, gradients and activations. Like the
big-model tests of real ML suites it first checks /proc/meminfo's MemAvailable and skips itself when the
machine (or, under nsrun, the job's memory cap) is too small for it."""
import pytest
import torch

from tinyml.data import labelled
from tinyml.memory import MIB, model_mb, require_available
from tinyml.models import mlp_for, train_step

pytestmark = pytest.mark.model


def test_large_model_step(resident):
    target = model_mb() * MIB
    require_available(target * 6 // 5, f"a {model_mb()} MiB model")

    def run():
        model, batch = mlp_for(target, depth=8)
        x, y = labelled(512, 10, batch, seed=1)
        return model, train_step(model, x, y)

    model, loss = resident(target, run)
    assert torch.isfinite(torch.tensor(loss))
    assert all(torch.isfinite(p).all() for p in model.parameters())
