"""What every benchmark shares: timing, rows in the common format, a tetherd to measure.

A row is {"group", "subject", "unit", "n", "min", "median", "max", "reference", "ratio"}:
ratio is this subject's median over the reference subject's median measured in the same run
(the inverse for higher-is-better units). Not executable: bench/run runs only the topics.
"""

from __future__ import annotations

import json
import os
import statistics
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

HIGHER_IS_BETTER = ("q/s", "conn/s", "Gbit/s", "ops/s")


def enter_namespace() -> None:
    """Re-run this script inside private namespaces (tools/nsrun) unless already inside."""
    if os.geteuid() != 0:
        sys.exit(f"{sys.argv[0]}: benchmarks need root (namespaces, links, nftables)")
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


def row(group: str, subject: str, samples: list[float], unit: str = "ms",
        reference: str | None = None) -> dict:
    """One result row (ratio is filled in by `with_ratios`)."""
    return {
        "group": group, "subject": subject, "unit": unit, "n": len(samples),
        "min": round(min(samples), 3), "median": round(statistics.median(samples), 3),
        "max": round(max(samples), 3), "reference": reference, "ratio": None,
    }


def with_ratios(rows: list[dict]) -> list[dict]:
    """Fill each row's ratio against its group's reference subject (pure)."""
    medians = {(r["group"], r["subject"]): r["median"] for r in rows}
    out = []
    for r in rows:
        ref = medians.get((r["group"], r["reference"])) if r.get("reference") else None
        ratio = None
        if ref and r["median"]:
            higher = r["unit"] in HIGHER_IS_BETTER
            ratio = round(ref / r["median"] if higher else r["median"] / ref, 2)
        out.append({**r, "ratio": ratio})
    return out


def markdown(rows: list[dict]) -> str:
    """One Markdown table per group, in order of first appearance (pure)."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    parts = []
    for group, items in groups.items():
        lines = [f"### {group}", "",
                 "| subject | n | min | median | max | unit | ratio (vs) |",
                 "|---|---:|---:|---:|---:|---|---|"]
        for r in items:
            vs = f"{r['ratio']:.2f}x ({r['reference']})" if r.get("ratio") is not None else ""
            lines.append(f"| {r['subject']} | {r['n']} | {_num(r['min'])} | "
                         f"{_num(r['median'])} | {_num(r['max'])} | {r['unit']} | {vs} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"


def publish(topic: str, rows: list[dict]) -> None:
    """Fill ratios, print the tables and write bench/results/<topic>.json."""
    rows = with_ratios(rows)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{topic}.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(markdown(rows))


@contextmanager
def daemon(busybox: bool = False, log_level: str = "warning") -> Iterator[tetherlab.Daemon]:
    """A fresh tetherd on a temporary root (inside the benchmark's namespaces), stopped after."""
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        d = tetherlab.Daemon(Path(tmp), log_level=log_level)
        d.start()
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
