"""How the CLI reports errors: docker's sentences and exit codes."""

from __future__ import annotations

import sys

from tether.errors import TetherError


def message(err: TetherError) -> str:
    """Daemon errors read "Error response from daemon: …"; client-side ones stand alone."""
    if getattr(err, "from_daemon", False):
        return f"Error response from daemon: {err}"
    return str(err)


def report(err: TetherError) -> None:
    sys.stderr.write(message(err) + "\n")


def report_run(err: TetherError, command: str) -> int:
    """`run`/`create` failures: prefixed, with the help hint, exit 125 as docker does."""
    sys.stderr.write(f"tether: {message(err)}\n\nRun 'tether {command} --help' for more "
                     "information\n")
    return 125
