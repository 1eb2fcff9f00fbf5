"""`tether`: a docker-compatible CLI that drives tetherd over its UNIX socket.

Start-up time matters (a CLI is run in loops by scripts), so this module imports almost
nothing: each command's module is imported only when that command runs.
"""

from __future__ import annotations

import sys

COMMANDS = {
    "network": ("tether.cli.network", "main"), "compose": ("tether.cli.compose", "main"),
    "run": ("tether.cli.container", "run"), "create": ("tether.cli.container", "create"),
    "start": ("tether.cli.container", "start"), "stop": ("tether.cli.container", "stop"),
    "kill": ("tether.cli.container", "kill"), "rm": ("tether.cli.container", "rm"),
    "ps": ("tether.cli.listing", "ps"), "inspect": ("tether.cli.listing", "inspect"),
    "port": ("tether.cli.listing", "port"),
    "logs": ("tether.cli.streams", "logs"), "attach": ("tether.cli.streams", "attach"), "exec": ("tether.cli.streams", "exec_"),
    "image": ("tether.cli.image", "main"), "images": ("tether.cli.image", "ls"),
    "import": ("tether.cli.image", "import_"), "events": ("tether.cli.events", "events"), "version": ("tether.cli.image", "version"),
}

USAGE = """Usage:  tether [-H HOST] COMMAND

A container networking engine that speaks the Docker Engine API

Commands:
  network     Manage networks (ls, inspect, create, rm, prune, connect, disconnect)
  compose     Run compose projects (up, down, ps, logs, start, stop, restart, config)
  run         Create and run a new container from an image
  create      Create a new container
  start       Start one or more stopped containers
  port        List port mappings of a container
  stop        Stop one or more running containers
  kill        Kill one or more running containers
  rm          Remove one or more containers
  ps          List containers
  inspect     Return low-level information on objects
  logs        Fetch the logs of a container
  attach      Attach to a running container (detach: CTRL-p CTRL-q)
  exec        Execute a command in a running container
  image       Manage images (import, ls, rm, inspect)
  events      Get real time events from the server
  version     Show the tether version information

Global options:
  -H, --host string   Daemon socket to connect to (default $TETHER_HOST or
                      unix:///run/tether/tether.sock)
"""


class Context:
    """What every command gets: the daemon address, and a client made on first use."""

    def __init__(self, host: str | None):
        self.host = host
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from tether.client.api import Client

            self._client = Client(self.host)
        return self._client


def split_globals(argv: list[str]) -> tuple[str | None, list[str]]:
    """Take -H/--host (and --host=X) before the command word."""
    host = None
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        arg = argv[i]
        if arg in ("-H", "--host") and i + 1 < len(argv):
            host, i = argv[i + 1], i + 2
        elif arg.startswith("--host="):
            host, i = arg.split("=", 1)[1], i + 1
        elif arg.startswith("-H") and len(arg) > 2:
            host, i = arg[2:], i + 1
        else:
            break
    return host, argv[i:]


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status (docker's codes: 1 errors, 125 run/create)."""
    host, argv = split_globals(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0
    if argv[0] in ("-v", "--version"):
        argv = ["version"]
    if argv[0] not in COMMANDS:
        sys.stderr.write(f"tether: '{argv[0]}' is not a tether command.\n"
                         "See 'tether --help'\n")
        return 1
    import importlib

    from tether.errors import TetherError

    module, func = COMMANDS[argv[0]]
    try:
        return getattr(importlib.import_module(module), func)(Context(host), argv[1:])
    except TetherError as err:
        from tether.cli.errors import report

        report(err)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
