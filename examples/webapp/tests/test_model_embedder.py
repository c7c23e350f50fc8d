"""Blocker 4: memory (see test_model_sentiment.py)."""
from webapp.model import load_model


def test_embedder_model():
    m = load_model("embedder")
    assert m.score("bad")["label"] == "negative"
