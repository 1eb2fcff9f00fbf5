"""What every benchmark shares: timing, rows in the common format, a tetherd to measure.

A row is {"group", "subject", "unit", "n", "min", "median", "max", "reference", "ratio"}:
ratio is this subject's median over the reference subject's median measured in the same run
(the inverse for higher-is-better units). Not executable: bench/run runs only the topics.
"""

from __future__ import annotations

import compileall
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(REPO / "tools"))

import tetherlab  # noqa: E402
from rows import markdown, row, with_ratios  # noqa: E402,F401  (re-exported for the topics)


def enter_namespace() -> None:
    """Re-run this script inside private namespaces (tools/nsrun) unless already inside."""
    if os.geteuid() != 0:
        sys.exit(f"{sys.argv[0]}: benchmarks need root (namespaces, links, nftables)")
    if not tetherlab.in_namespace():
        # CLI timings must not include compiling tether's sources on every run, which happens
        # when PYTHONDONTWRITEBYTECODE is set and no bytecode is cached
        compileall.compile_dir(str(REPO / "src" / "tether"), quiet=1)
    tetherlab.enter_namespace([os.path.abspath(sys.argv[0]), *sys.argv[1:]])


def rounds(default: int) -> int:
    """Repetitions per subject: BENCH_ROUNDS overrides (a quick smoke run uses 3)."""
    return int(os.environ.get("BENCH_ROUNDS", default))


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call of `fn` took."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def sample(fn: Callable[[], object], n: int, warmup: int = 1) -> list[float]:
    """Time `fn` `n` times (after `warmup` untimed calls), in milliseconds."""
    for _ in range(warmup):
        fn()
    return [timed(fn) for _ in range(n)]


def publish(topic: str, rows: list[dict]) -> None:
    """Fill ratios, print the tables and write bench/results/<topic>.json."""
    rows = with_ratios(rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{topic}.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(markdown(rows))


@contextmanager
def daemon(busybox: bool = False, log_level: str = "warning",
           env: dict[str, str] | None = None) -> Iterator[tetherlab.Daemon]:
    """A fresh tetherd on a temporary root (inside the benchmark's namespaces), stopped after.

    `env` is added to the daemon's environment (e.g. TETHER_NFT=subprocess).
    """
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        d = tetherlab.Daemon(Path(tmp), log_level=log_level)
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            d.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            if busybox:
                d.import_busybox(Path(tmp))
            yield d
        finally:
            d.stop()


def check(resp: tetherlab.Response, what: str) -> tetherlab.Response:
    """Fail loudly when an API call the benchmark relies on did not succeed."""
    if resp.status >= 300:
        raise RuntimeError(f"{what}: HTTP {resp.status}: {resp.body[:300]!r}")
    return resp
