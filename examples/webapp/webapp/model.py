"""Stand-in for an ML model: loading one costs real, resident memory."""
import os
import time

PAGE = 4096


def model_mb():
    return int(os.environ.get("MODEL_MB", "1500"))


class Model:
    def __init__(self, name, weights):
        self.name = name
        self.weights = weights

    def score(self, text):
        # something cheap but that depends on the weights being all there
        pages = len(self.weights) // PAGE
        resident = sum(self.weights[::PAGE])     # 1 per touched page
        return {"label": "positive" if "good" in text else "negative",
                "complete": resident == pages}


def load_model(name, mb=None):
    """'Load' a model of mb MiB: allocate it and touch every page so that it is
    resident, as reading real weights from disk would make it."""
    mb = model_mb() if mb is None else mb
    weights = bytearray(mb * 1024 * 1024)        # zero pages, not resident yet
    weights[::PAGE] = b"\x01" * len(range(0, len(weights), PAGE))   # now it is
    time.sleep(0.3)                               # warm-up / graph building
    return Model(name, weights)
