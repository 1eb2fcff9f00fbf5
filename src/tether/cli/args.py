"""argparse with docker's conventions: no -h help (run uses -h for hostname), usage errors
exit 125 for run/create and 1 elsewhere."""

from __future__ import annotations

import argparse
import os
import sys

from tether.errors import InvalidArgument


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the width: asking shutil for it costs 2 ms of imports on
    every run, since argparse builds a formatter for each add_argument."""

    def __init__(self, prog: str, **kwargs) -> None:
        if kwargs.get("width") is None:
            try:
                columns = int(os.environ.get("COLUMNS") or os.get_terminal_size().columns)
            except (OSError, ValueError):
                columns = 80
            kwargs["width"] = columns - 2
        super().__init__(prog, **kwargs)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing argparse's own usage and exiting."""

    def __init__(self, prog: str, usage: str | None = None):
        super().__init__(prog=f"tether {prog}", add_help=False, usage=usage,
                         allow_abbrev=False, formatter_class=_Formatter)
        self.add_argument("--help", action="help", help="Print usage")

    def error(self, message: str):
        raise InvalidArgument(f"{message}\nSee '{self.prog} --help'.")


def multi(parser: argparse.ArgumentParser, *flags: str, dest: str | None = None,
          help: str = "") -> None:
    """A repeatable string flag (docker's list options)."""
    parser.add_argument(*flags, dest=dest, action="append", default=[], help=help)


def key_values(items: list[str], what: str) -> dict[str, str]:
    """Parse repeated k=v flags (labels, driver options); `k` alone means an empty value."""
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {what} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
