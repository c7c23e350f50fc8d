"""Blocker 4: memory (see test_model_sentiment.py)."""
from webapp.model import load_model


def test_tagger_model():
    m = load_model("tagger")
    assert m.name == "tagger" and m.score("good")["complete"]
