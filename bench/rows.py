"""Result rows and their Markdown: pure functions, shared by the topics and bench/run.

A row is {"group", "subject", "unit", "n", "min", "median", "max", "reference", "ratio"}
(see DESIGN.md and bench/README.md). ratio = this subject's median / the reference subject's
median in the same group and run; for higher-is-better units it is the inverse, so a ratio
below 1 is always better than the reference.
"""

from __future__ import annotations

import statistics

HIGHER_IS_BETTER = ("q/s", "conn/s", "Gbit/s", "ops/s", "req/s")


def row(group: str, subject: str, samples: list[float], unit: str = "ms",
        reference: str | None = None) -> dict:
    """One result row from raw samples (its ratio is filled in by `with_ratios`)."""
    return {
        "group": group, "subject": subject, "unit": unit, "n": len(samples),
        "min": round(min(samples), 3), "median": round(statistics.median(samples), 3),
        "max": round(max(samples), 3), "reference": reference, "ratio": None,
    }


def with_ratios(rows: list[dict]) -> list[dict]:
    """Fill each row's ratio against its group's reference subject; keep a given one when
    the reference is not among the rows."""
    medians = {(r["group"], r["subject"]): r["median"] for r in rows}
    out = []
    for r in rows:
        ref = medians.get((r["group"], r.get("reference")))
        ratio = r.get("ratio")
        if ref and r["median"]:
            higher = r["unit"] in HIGHER_IS_BETTER
            ratio = round(ref / r["median"] if higher else r["median"] / ref, 2)
        out.append({**r, "ratio": ratio})
    return out


def by_group(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped, groups and rows in order of first appearance."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    return groups


def number(x: float | None) -> str:
    """Three significant digits, without exponent notation for everyday magnitudes."""
    if x is None:
        return ""
    if abs(x) >= 1000:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def table(items: list[dict]) -> str:
    """One group's Markdown table (no heading)."""
    lines = ["| subject | n | min | median | max | unit | ratio (vs) |",
             "|---|---:|---:|---:|---:|---|---|"]
    for r in items:
        vs = f"{r['ratio']:.2f}x ({r['reference']})" if r.get("ratio") is not None else ""
        lines.append(f"| {r['subject']} | {r['n']} | {number(r['min'])} | "
                     f"{number(r['median'])} | {number(r['max'])} | {r['unit']} | {vs} |")
    return "\n".join(lines)


def markdown(rows: list[dict], level: int = 3) -> str:
    """One Markdown table per group, each under a heading of `level`."""
    parts = [f"{'#' * level} {group}\n\n{table(items)}" for group, items in by_group(rows).items()]
    return "\n\n".join(parts) + "\n"
