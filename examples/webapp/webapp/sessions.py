"""File-backed session store: one JSON file per session under data/sessions/."""
import json
import os
import time
from pathlib import Path

# The default store lives *inside the project*, next to the code, like many
# small apps do.  Every test run, serial or parallel, shares this directory.
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "sessions"


class SessionStore:
    def __init__(self, directory=DEFAULT_DIR):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, sid):
        return self.dir / f"{sid}.json"

    def create(self, sid, user, **data):
        s = {"id": sid, "user": user, "created": time.time(), "hits": 0, **data}
        self._write(sid, s)
        return s

    def load(self, sid):
        with open(self._path(sid)) as f:
            return json.load(f)

    def touch(self, sid):
        """Record one request in the session (read-modify-write)."""
        s = self.load(sid)
        s["hits"] += 1
        self._write(sid, s)
        return s

    def ids(self, prefix=""):
        return sorted(p.stem for p in self.dir.glob(f"{prefix}*.json"))

    def delete(self, sid):
        self._path(sid).unlink(missing_ok=True)

    def purge(self, prefix):
        """Delete every session whose id starts with prefix; return how many."""
        n = 0
        for sid in self.ids(prefix):
            self.delete(sid)
            n += 1
        return n

    def _write(self, sid, s):
        tmp = self._path(sid).with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(s))
        os.replace(tmp, self._path(sid))
