"""`tether run|create|start|stop|kill|rm`."""

from __future__ import annotations

import os
import sys

from tether.cli.args import Parser, write
from tether.cli.errors import report, report_run
from tether.errors import TetherError


def create(ctx, argv: list[str]) -> int:
    from tether.cli.runflags import parse

    try:
        opts, _ = parse("create", argv)
        write(ctx.client.create_container(opts)["Id"] + "\n")
    except TetherError as err:
        return report_run(err, "create")
    return 0


def run(ctx, argv: list[str]) -> int:
    """Create, wait-register, start; attached runs stream output and exit with its code."""
    from tether.cli.runflags import parse

    try:
        opts, a = parse("run", argv)
        if opts.tty and opts.stdin and not opts.detach and not os.isatty(0):
            sys.stderr.write("the input device is not a TTY\n")
            return 1
        ident = ctx.client.create_container(opts)["Id"]
    except TetherError as err:
        return report_run(err, "run")
    if opts.detach:
        try:
            ctx.client.start_container(ident)
        except TetherError as err:
            write(ident + "\n")
            return report_run(err, "run")
        write(ident + "\n")
        return 0
    from tether.cli.streams import run_attached

    return run_attached(ctx.client, ident, opts.tty, opts.auto_remove, stdin=opts.stdin,
                        detach_keys=a.detach_keys)


def start(ctx, argv: list[str]) -> int:
    p = Parser("start")
    p.add_argument("-a", "--attach", action="store_true")
    p.add_argument("-i", "--interactive", action="store_true")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    failed = _each(a.containers, ctx.client.start_container)
    if failed:
        sys.stderr.write(f"Error: failed to start containers: {', '.join(failed)}\n")
    return 1 if failed else 0


def stop(ctx, argv: list[str]) -> int:
    p = Parser("stop")
    p.add_argument("-t", "--time", "--timeout", dest="timeout", type=int)
    p.add_argument("-s", "--signal")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    return 1 if _each(a.containers,
                      lambda c: ctx.client.stop_container(c, a.timeout, a.signal)) else 0


def kill(ctx, argv: list[str]) -> int:
    p = Parser("kill")
    p.add_argument("-s", "--signal")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    return 1 if _each(a.containers, lambda c: ctx.client.kill_container(c, a.signal)) else 0


def rm(ctx, argv: list[str]) -> int:
    p = Parser("rm")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-v", "--volumes", action="store_true")
    p.add_argument("-l", "--link", action="store_true")
    p.add_argument("containers", nargs="+")
    a = p.parse_args(argv)
    return 1 if _each(a.containers, lambda c: ctx.client.remove_container(
        c, force=a.force, volumes=a.volumes, link=a.link)) else 0


def _each(names: list[str], action) -> list[str]:
    """Apply an action to every name, printing each success; return the names that failed."""
    failed = []
    for name in names:
        try:
            action(name)
            write(name + "\n")
        except TetherError as err:
            report(err)
            failed.append(name)
    return failed
