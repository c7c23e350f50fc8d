"""Blocker 3: a global file in /tmp (/tmp/webapp-costs.json).
Each test resets the ledger, charges a few items and checks the total; under
xdist the other workers' resets and charges land in the same file."""
import time

import pytest

PLANS = {
    "free": [0, 0, 0],
    "basic": [5, 10, 5],
    "pro": [20, 20, 15, 10],
    "team": [50, 25, 25],
    "enterprise": [100, 80, 60, 40],
}


def checkout(ledger, plan):
    for cents in PLANS[plan]:
        ledger.charge(plan, cents)
        time.sleep(0.08)            # pricing service round-trip


@pytest.mark.parametrize("plan", PLANS)
def test_checkout_total(ledger, plan):
    checkout(ledger, plan)
    assert ledger.total() == sum(PLANS[plan])


def test_entries_in_order(ledger):
    checkout(ledger, "pro")
    assert [e["cents"] for e in ledger.entries()] == PLANS["pro"]


def test_reset(ledger):
    checkout(ledger, "basic")
    ledger.reset()
    time.sleep(0.1)
    assert ledger.total() == 0 and ledger.entries() == []
