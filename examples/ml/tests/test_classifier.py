"""A dense classifier of MODEL_MB / 2 (750 MiB by default): two SGD steps on one batch lower its loss."""
import math

import pytest
import torch

from tinyml.data import labelled
from tinyml.memory import MIB, model_mb
from tinyml.models import mlp_for, parameters_bytes, train_step

pytestmark = pytest.mark.model


def test_classifier_trains(resident):
    target = model_mb() // 2 * MIB

    def run():
        model, batch = mlp_for(target)
        x, y = labelled(512, 10, batch)
        return model, train_step(model, x, y), train_step(model, x, y)

    model, first, second = resident(target, run)
    assert parameters_bytes(model) >= 0.4 * target
    assert abs(first - math.log(10)) < 0.5        # untrained: about uniform over 10 classes
    assert second < first
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
