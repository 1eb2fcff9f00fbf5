"""`tether logs`, `tether exec`, and the attached half of `tether run`: output streams."""

from __future__ import annotations

import argparse
import contextlib
import sys

from tether.cli.args import Parser
from tether.cli.errors import report_run
from tether.errors import NotFound, TetherError


def pump(frames) -> None:
    """Copy (stream, bytes) frames to our stdout/stderr as they arrive."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for stream, data in frames:
        target = err if stream == 2 else out
        target.write(data)
        target.flush()


def logs(ctx, argv: list[str]) -> int:
    p = Parser("logs")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-n", "--tail")
    p.add_argument("-t", "--timestamps", action="store_true")
    p.add_argument("container")
    a = p.parse_args(argv)
    from tether.client.views import container_tty

    tty = container_tty(ctx.client.inspect_container(a.container))
    pump(ctx.client.logs(a.container, follow=a.follow, tail=a.tail, timestamps=a.timestamps,
                         tty=tty))
    return 0


def exec_(ctx, argv: list[str]) -> int:
    p = Parser("exec", usage="tether exec [OPTIONS] CONTAINER COMMAND [ARG...]")
    for flag in (("-d", "--detach"), ("-i", "--interactive"), ("-t", "--tty"),
                 ("--privileged",)):
        p.add_argument(*flag, action="store_true")
    p.add_argument("-e", "--env", action="append", default=[])
    p.add_argument("-w", "--workdir", default="")
    p.add_argument("-u", "--user", default="")
    p.add_argument("container")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    if not a.cmd:
        p.error("exec requires at least 2 arguments")
    from tether.client.run_body import expand_env
    from tether.client.views import exec_exit_code

    exec_id = ctx.client.create_exec(
        a.container, a.cmd, env=expand_env(tuple(a.env)), workdir=a.workdir, user=a.user,
        tty=a.tty, stdin=a.interactive, privileged=a.privileged, detach=a.detach)
    if a.detach:
        ctx.client.start_exec_detached(exec_id)
        return 0
    from tether.cli.terminal import session

    session(ctx.client.start_exec_stream(exec_id, a.tty), tty=a.tty, stdin=a.interactive,
            resize=lambda h, w: ctx.client.resize_exec(exec_id, h, w))
    return exec_exit_code(ctx.client.inspect_exec(exec_id))


def run_attached(client, ident: str, tty: bool, auto_remove: bool, stdin: bool = False,
                 detach_keys: str = "") -> int:
    """Docker's order: attach and register the wait before start, so no output is lost.

    With the detach keys the daemon ends the stream while the container runs on: then
    return 0 at once, without waiting or removing it.
    """
    from tether.cli.terminal import session
    from tether.client.views import exit_code_of_wait

    try:
        waiter = client.wait_container(ident, "removed" if auto_remove else "next-exit")
        resp = _attach_or_none(client, ident, stdin, detach_keys)
        client.start_container(ident)
    except TetherError as err:
        _cleanup(client, ident, auto_remove)
        return report_run(err, "run")
    if resp is None:  # a daemon without attach: follow the logs instead
        with contextlib.suppress(NotFound):
            pump(client.logs(ident, follow=True, tty=tty))
    else:
        session(resp, tty=tty, stdin=stdin,
                resize=lambda h, w: client.resize_container(ident, h, w))
    if stdin and _still_running(client, ident):
        waiter.close()
        return 0
    try:
        code = exit_code_of_wait(waiter.json())
    except TetherError as err:
        return report_run(err, "run")
    _cleanup(client, ident, auto_remove)
    return code


def _still_running(client, ident: str) -> bool:
    try:
        return bool((client.inspect_container(ident).get("State") or {}).get("Running"))
    except TetherError:
        return False


def attach(ctx, argv: list[str]) -> int:
    """`tether attach [--no-stdin] [--detach-keys KEYS] CONTAINER`."""
    p = Parser("attach")
    p.add_argument("--no-stdin", action="store_true")
    p.add_argument("--detach-keys", default="")
    p.add_argument("--sig-proxy", default="true")
    p.add_argument("container")
    a = p.parse_args(argv)
    from tether.cli.terminal import session

    info = ctx.client.inspect_container(a.container)
    config, ident = info.get("Config") or {}, info["Id"]
    if not (info.get("State") or {}).get("Running"):
        sys.stderr.write("You cannot attach to a stopped container, start it first\n")
        return 1
    stdin = bool(config.get("OpenStdin")) and not a.no_stdin
    resp = ctx.client.attach_stream(ident, stdin=stdin, detach_keys=a.detach_keys)
    session(resp, tty=bool(config.get("Tty")), stdin=stdin,
            resize=lambda h, w: ctx.client.resize_container(ident, h, w))
    if _still_running(ctx.client, ident):
        return 0
    try:
        return int((ctx.client.inspect_container(ident).get("State") or {}).get("ExitCode", 0))
    except TetherError:
        return 0


def _attach_or_none(client, ident: str, stdin: bool, detach_keys: str):
    try:
        return client.attach_stream(ident, stdin=stdin, detach_keys=detach_keys)
    except TetherError as err:
        if err.status in (404, 405, 501):
            return None
        raise


def _cleanup(client, ident: str, auto_remove: bool) -> None:
    """With --rm, make sure the container is gone even if the daemon did not remove it."""
    if not auto_remove:
        return
    try:
        client.remove_container(ident, force=True)
    except TetherError:
        pass
