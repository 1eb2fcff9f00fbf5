"""Crash safety: SIGKILL tetherd at random points of a random workload, restart, check.

A fixed seed and a few kill points keep this under a minute; tools/crash-soak runs the same
rounds with random seeds for as long as asked. tools/crashlab.py says what is checked.
"""

from __future__ import annotations

import random

import pytest

from .support.harness import REPO  # noqa: F401 - puts tools/ on sys.path

import crashlab  # noqa: E402

SEED = 9
ROUNDS = 4


@pytest.fixture(scope="module")
def crashy(daemon_factory, busybox_tarball):
    from .support import harness

    d = daemon_factory.start("crashy")
    harness.import_busybox(d, busybox_tarball)
    return d


def test_sigkill_at_random_points_leaks_nothing_and_loses_nothing(crashy):
    rng = random.Random(SEED)
    ledger = crashlab.Ledger()
    for round_no in range(ROUNDS):
        delay = crashlab.crash_round(crashy, rng, ledger, tag=str(round_no))
        problems = crashlab.settle(crashy, ledger, crashlab.table_of(crashy))
        assert not problems, (f"after kill {round_no + 1} ({delay:.2f} s in, "
                              f"{ledger.ops} ops so far):\n" + "\n".join(problems))
    assert ledger.ops >= 10 and ledger.running, "the workload did too little to prove anything"
