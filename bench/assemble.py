"""Assemble bench/results/*.json into RESULTS.md and one PNG plot per group.

The text is built by pure functions (`results_markdown`, `replace_section`) so it is unit
tested without running a benchmark; `machine_info` and `plot_group` are the effects.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
from pathlib import Path

from rows import by_group, table, with_ratios

README_START = "<!-- bench:results:start -->"
README_END = "<!-- bench:results:end -->"


def machine_info() -> dict[str, str]:
    """The machine the figures come from: CPU model, cores, kernel, Debian version, date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        debian = Path("/etc/debian_version").read_text().strip()
    except OSError:
        debian = "not Debian"
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "kernel": platform.release(),
        "debian": debian, "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_line(m: dict[str, str]) -> str:
    return (f"Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, "
            f"Debian {m['debian']}, Python {m['python']}; run {m['date']}.")


def slug(text: str) -> str:
    """A file name for a group: lower case, words joined by dashes, no unit in brackets."""
    text = re.sub(r"\(.*?\)", "", text).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "group"


def plot_name(topic: str, group: str) -> str:
    return f"{topic}-{slug(group)}.png"


def results_markdown(results: dict[str, list[dict]], machine: dict[str, str],
                     plots: bool = True) -> str:
    """RESULTS.md: the machine, then per topic one table per group (with its plot)."""
    out = ["# tether benchmark results", "", machine_line(machine), "",
           "Each figure is min / median / max over n runs in milliseconds unless the unit says "
           "otherwise; ratio = median / the reference's median measured in the same run "
           "(inverted for higher-is-better units, so below 1 is better). "
           "`make bench` regenerates this page; bench/README.md explains each benchmark.", ""]
    for topic in sorted(results):
        out += [f"## {topic}", ""]
        for group, items in by_group(with_ratios(results[topic])).items():
            out += [f"### {group}", "", table(items), ""]
            if plots:
                out += [f"![{group}]({plot_name(topic, group)})", ""]
    return "\n".join(out)


def summary_markdown(results: dict[str, list[dict]], machine: dict[str, str]) -> str:
    """The README's Performance block: the machine and every table, without plots."""
    out = [machine_line(machine), ""]
    for topic in sorted(results):
        for group, items in by_group(with_ratios(results[topic])).items():
            out += [f"**{group}**", "", table(items), ""]
    return "\n".join(out)


def replace_section(text: str, block: str) -> str:
    """Put `block` between the README's bench markers (appending them when missing)."""
    section = f"{README_START}\n{block.rstrip()}\n{README_END}"
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        return head + section + rest.split(README_END, 1)[1]
    return text.rstrip() + "\n\n" + section + "\n"


def load(results_dir: Path) -> dict[str, list[dict]]:
    """Every topic's rows, by topic name (the JSON file's stem)."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))}


def plot_group(group: str, items: list[dict], path: Path) -> None:
    """Horizontal bars of the medians with min-max whiskers; log scale for wide spreads."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["subject"] for r in items][::-1]
    med = [r["median"] for r in items][::-1]
    lo = [r["median"] - r["min"] for r in items][::-1]
    hi = [r["max"] - r["median"] for r in items][::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(items) + 1.4))
    colors = ["#d95f02" if n.startswith("tether") else "#7570b3" for n in names]
    ax.barh(names, med, xerr=[lo, hi], color=colors, capsize=3)
    positive = [m for m in med if m > 0]
    if positive and max(positive) / min(positive) > 50:
        ax.set_xscale("log")
    ax.set_xlabel(f"median, whiskers min..max ({items[0]['unit']})")
    ax.set_title(group, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_all(results_dir: Path, readme: Path | None = None) -> Path:
    """Write RESULTS.md and the plots (plots skipped without matplotlib); maybe the README."""
    results = load(results_dir)
    machine = machine_info()
    try:
        import matplotlib  # noqa: F401
        plots = True
    except ImportError:
        plots = False
        print("bench: matplotlib is missing; RESULTS.md is written without plots")
    if plots:
        for topic, rows in results.items():
            for group, items in by_group(with_ratios(rows)).items():
                plot_group(group, items, results_dir / plot_name(topic, group))
    out = results_dir / "RESULTS.md"
    out.write_text(results_markdown(results, machine, plots))
    (results_dir / "machine.txt").write_text(machine_line(machine) + "\n")
    if readme is not None:
        readme.write_text(replace_section(readme.read_text(), summary_markdown(results, machine)))
    return out
