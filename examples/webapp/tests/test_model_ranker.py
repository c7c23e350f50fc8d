"""Blocker 4: memory (see test_model_sentiment.py)."""
from webapp.model import load_model, model_mb


def test_ranker_model():
    m = load_model("ranker")
    assert len(m.weights) == model_mb() * 1024 * 1024
    assert m.score("plain")["complete"]
