"""Cost ledger: a JSON file in /tmp that accumulates what requests cost."""
import json
import os
from pathlib import Path

# One global file per machine: every process that uses the app writes here.
DEFAULT_PATH = Path(os.environ.get("WEBAPP_LEDGER", "/tmp/webapp-costs.json"))


class Ledger:
    def __init__(self, path=DEFAULT_PATH):
        self.path = Path(path)

    def _read(self):
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {"entries": [], "total_cents": 0}

    def _write(self, doc):
        self.path.write_text(json.dumps(doc))

    def reset(self):
        self._write({"entries": [], "total_cents": 0})

    def charge(self, what, cents):
        doc = self._read()                      # read ...
        doc["entries"].append({"what": what, "cents": cents})
        doc["total_cents"] += cents             # ... modify ...
        self._write(doc)                        # ... write: not atomic, not locked
        return doc["total_cents"]

    def total(self):
        return self._read()["total_cents"]

    def entries(self):
        return self._read()["entries"]
