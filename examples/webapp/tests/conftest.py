"""Shared fixtures.  They are correct for a serial run and exactly what breaks
under `pytest -n 4`: each one assumes it owns a machine-wide resource."""
import time

import pytest

from webapp.ledger import Ledger
from webapp.sessions import SessionStore


def pytest_report_header(config):
    from webapp.ledger import DEFAULT_PATH
    from webapp.model import model_mb
    from webapp.sessions import DEFAULT_DIR
    return [f"webapp: sessions in {DEFAULT_DIR}, ledger {DEFAULT_PATH}, MODEL_MB={model_mb()}"]


@pytest.fixture
def store():
    """The app's session store (data/sessions/ in the project).  Test sessions
    are named test-*; clean them all up before and after, so a crashed earlier
    run cannot leave any behind."""
    s = SessionStore()
    s.purge("test-")
    yield s
    s.purge("test-")


@pytest.fixture
def ledger():
    """The global cost ledger (/tmp/webapp-costs.json), reset so that a test
    can assert on the total it accumulated."""
    led = Ledger()
    led.reset()
    return led


@pytest.fixture
def browse(store):
    """browse(sid, n, interval): a user clicking around, n requests that each
    update the session; returns the session as it is afterwards."""
    def browse(sid, n=4, interval=0.08):
        for _ in range(n):
            time.sleep(interval)
            store.touch(sid)
        return store.load(sid)
    return browse


def pytest_collection_modifyitems(config, items):
    """Fast feedback first: the slow, memory-heavy model tests run last.
    (Under xdist that also means they all start together on every worker.)"""
    items.sort(key=lambda item: item.path.name.startswith("test_model_"))
