"""Blocker 4: memory.  Each test loads a model of MODEL_MB MiB (default 1500)
and touches every page, so it is really resident.  Serially the suite peaks at
one model; four xdist workers can hold four at once (4 x 1.5 GB), which a CI
runner with a few GB gets OOM-killed for, taking the worker and its test down."""
import pytest

from webapp.model import load_model, model_mb

# memory-heavy: a runner that honours this marker should not run it alongside others
pytestmark = pytest.mark.serial


def test_sentiment_model():
    m = load_model("sentiment")
    assert m.score("a good book") == {"label": "positive", "complete": True}


def test_ranker_model():
    m = load_model("ranker")
    assert len(m.weights) == model_mb() * 1024 * 1024
    assert m.score("plain")["complete"]


def test_embedder_model():
    m = load_model("embedder")
    assert m.score("bad")["label"] == "negative"


def test_tagger_model():
    m = load_model("tagger")
    assert m.name == "tagger" and m.score("good")["complete"]
