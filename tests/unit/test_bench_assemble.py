"""bench/: rows, ratios and the assembled Markdown are pure functions of the result rows."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import assemble  # noqa: E402
import rows  # noqa: E402

MACHINE = {"cpu": "Test CPU", "cores": "2", "kernel": "6.1.0", "debian": "12.5",
           "python": "3.11.2", "date": "2026-01-01 00:00 UTC"}


def sample_rows():
    return [
        rows.row("attach (ms)", "floor", [2.0, 1.0, 3.0]),
        rows.row("attach (ms)", "tether", [3.0, 3.0, 4.0], reference="floor"),
        rows.row("dns (q/s)", "dnsmasq", [100.0, 200.0, 300.0], unit="q/s"),
        rows.row("dns (q/s)", "tether", [50.0], unit="q/s", reference="dnsmasq"),
    ]


def test_row_keeps_the_common_format():
    r = rows.row("g", "s", [3.0, 1.0, 2.0])
    assert r == {"group": "g", "subject": "s", "unit": "ms", "n": 3, "min": 1.0,
                 "median": 2.0, "max": 3.0, "reference": None, "ratio": None}


def test_ratios_are_median_over_reference_and_inverted_when_higher_is_better():
    out = {(r["group"], r["subject"]): r["ratio"] for r in rows.with_ratios(sample_rows())}
    assert out[("attach (ms)", "tether")] == 1.5
    assert out[("attach (ms)", "floor")] is None
    assert out[("dns (q/s)", "tether")] == 4.0  # 200 q/s / 50 q/s: four times worse


def test_a_reference_missing_from_the_run_leaves_the_given_ratio():
    r = {**rows.row("g", "s", [1.0], reference="absent"), "ratio": 0.5}
    assert rows.with_ratios([r])[0]["ratio"] == 0.5


def test_results_markdown_has_the_machine_one_table_per_group_and_plots():
    text = assemble.results_markdown({"attach": sample_rows()}, MACHINE)
    assert "Test CPU, 2 cores, Linux 6.1.0, Debian 12.5" in text
    assert text.count("| subject | n | min | median | max | unit | ratio (vs) |") == 2
    assert "| tether | 3 | 3 | 3 | 4 | ms | 1.50x (floor) |" in text
    assert "![attach (ms)](attach-attach.png)" in text
    assert "![" not in assemble.results_markdown({"attach": sample_rows()}, MACHINE, False)


def test_readme_section_is_replaced_between_markers_or_appended():
    first = assemble.replace_section("# README\n", "table one")
    assert first.endswith(f"{assemble.README_START}\ntable one\n{assemble.README_END}\n")
    second = assemble.replace_section(first + "after\n", "table two")
    assert "table one" not in second and "table two" in second and second.endswith("after\n")


def test_numbers_keep_three_significant_digits():
    assert [rows.number(x) for x in (0.01234, 2.345, 12.345, 1234.5)] == \
        ["0.0123", "2.35", "12.3", "1234"]
