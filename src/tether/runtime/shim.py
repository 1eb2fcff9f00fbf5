"""The per-container shim: a detached POSIX shell that runs `runc run` and keeps its exit code.

Why a shell and not the daemon: the container must outlive the daemon. `setsid -f` forks the
shim into its own session, re-parented away from the daemon, with none of the daemon's fds;
nsenter then puts it in the runtime mount namespace (mountns.py) and the sandbox's netns.
The shim
    1. records its own pid in shim.pid (a daemon started later waits on it with a pidfd),
    2. gives the container a stdin: the `stdin` FIFO opened read-write, so it never sees EOF
       (`docker run -itd busybox` keeps its shell), or /dev/null,
    3. runs `runc run` in the foreground, with stdout/stderr appended to stdout.log and
       stderr.log (two files: the order between the two streams is lost),
    4. writes runc's exit status to exit_code by a rename. runc reports a container killed by
       signal N as 128+N, Docker's convention (137 after SIGKILL).
A container with a TTY gets the Python pty shim instead (ptyshim.py), same files.
runc writes init.pid by a rename once the container's process runs: that is the start signal.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from tether.errors import KernelError
from tether.runtime import ptyshim

SHIM_NAME = "tether-shim"
# $1 dir  $2 runc  $3 runc root  $4 container id  $5 "1" keep stdin open, "2" stdin once
SCRIPT = r"""
cd "$1" || exit 125
echo $$ > shim.pid.tmp && mv -f shim.pid.tmp shim.pid
case "$5" in 1) exec 0<>stdin;; 2) exec 0<stdin;; *) exec 0</dev/null;; esac
"$2" --root "$3" --log "$1/runc.log" --log-format json run --bundle "$1" \
    --pid-file "$1/init.pid" "$4" >>stdout.log 2>>stderr.log
echo $? > exit_code.tmp && mv -f exit_code.tmp exit_code
"""


@dataclass(frozen=True)
class Stdio:
    """How the container's stdio is wired: a TTY (the pty shim), and its stdin."""

    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False

    @classmethod
    def of(cls, spec) -> "Stdio":
        return cls(spec.tty, spec.open_stdin, spec.stdin_once)

    def shell_mode(self) -> str:
        """The shell shim's $5: a FIFO that never ends, one that ends with its writers, none.

        With "2" the shim's open blocks until a writer exists: the runtime holds one
        while the container starts (console.stdin_held), an attached client another.
        """
        if not self.open_stdin:
            return "0"
        return "2" if self.stdin_once else "1"


def shim_argv(directory: str, runc: str, runc_root: str, cid: str, stdio: Stdio) -> list[str]:
    if stdio.tty:
        return [sys.executable, "-I", ptyshim.__file__, SHIM_NAME, directory, runc, runc_root,
                cid]
    return ["/bin/sh", "-c", SCRIPT, SHIM_NAME, directory, runc, runc_root, cid,
            stdio.shell_mode()]


def entry(mountns: str, netns: str | None) -> list[str]:
    """nsenter's arguments: runc runs in the runtime mount namespace and, with a sandbox,
    in its network namespace (bundle.JOINED_NETNS). nsenter opens both files before it
    enters either, so the netns pin is found in the daemon's mount table."""
    return ["nsenter", f"--mount={mountns}", *([f"--net={netns}"] if netns else [])]


async def launch(directory: str, runc: str, runc_root: str, cid: str, stdio: Stdio,
                 enter: list[str]) -> None:
    """Fork the shim away from the daemon, through `enter` (entry()); returns as soon as it
    is on its own."""
    if stdio.tty and not os.path.exists(os.path.join(directory, "ctl")):
        os.mkfifo(os.path.join(directory, "ctl"), 0o600)
    # The shim's stderr goes to a file: a pipe would be inherited by the forked shim and
    # keep us waiting for EOF until the container exits.
    log_path = os.path.join(directory, "shim.log")
    with open(log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            "setsid", "-f", *enter, *shim_argv(directory, runc, runc_root, cid, stdio),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=log, cwd=directory, start_new_session=True)
    if await proc.wait() != 0:
        with open(log_path, errors="replace") as f:
            err = f.read().strip().splitlines()[-1:] or ["unknown error"]
        raise KernelError(f"cannot start the container shim: {err[0]}")


def shim_alive(pid: int, directory: str) -> bool:
    """Is `pid` still this container's shim (and not a recycled pid)?"""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return SHIM_NAME.encode() in argv and directory.encode() in argv
