"""Blocker 4: memory. Each model test loads a model of MODEL_MB MiB (default 1500) and touches every page, so it
is really resident. Serially the suite holds one model at a time; four xdist workers hold four at once
(4 x 1.5 GB), which a CI container with a few GB is OOM-killed for, taking a worker and its tests down with
no word of why. nsrun sizes its workers to the memory (--mem-per-worker 2G) and caps each job, so only as many
models load at once as fit, and one that does not fit is named as out of memory."""
from webapp.model import load_model


def test_sentiment_model():
    m = load_model("sentiment")
    assert m.score("a good book") == {"label": "positive", "complete": True}
