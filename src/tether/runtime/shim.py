"""The per-container shim: a detached POSIX shell that runs `runc run` and keeps its exit code.

Why a shell and not the daemon: the container must outlive the daemon. `setsid -f` forks the
shim into its own session, re-parented away from the daemon, with none of the daemon's fds.
The shim
    1. records its own pid in shim.pid (a daemon started later waits on it with a pidfd),
    2. gives the container a stdin: the `stdin` FIFO opened read-write, so it never sees EOF
       (`docker run -itd busybox` keeps its shell), or /dev/null,
    3. runs `runc run` in the foreground, with stdout/stderr appended to stdout.log and
       stderr.log (two files: the order between the two streams is lost),
    4. writes runc's exit status to exit_code by a rename. runc reports a container killed by
       signal N as 128+N, Docker's convention (137 after SIGKILL).
runc writes init.pid by a rename once the container's process runs: that is the start signal.
"""

from __future__ import annotations

import asyncio
import os

from tether.errors import KernelError

SHIM_NAME = "tether-shim"
# $1 dir  $2 runc  $3 runc root  $4 container id  $5 "1" to keep stdin open
SCRIPT = r"""
cd "$1" || exit 125
echo $$ > shim.pid.tmp && mv -f shim.pid.tmp shim.pid
if [ "$5" = 1 ]; then exec 0<>stdin; else exec 0</dev/null; fi
"$2" --root "$3" --log "$1/runc.log" --log-format json run --bundle "$1" \
    --pid-file "$1/init.pid" "$4" >>stdout.log 2>>stderr.log
echo $? > exit_code.tmp && mv -f exit_code.tmp exit_code
"""


async def launch(directory: str, runc: str, runc_root: str, cid: str, open_stdin: bool) -> None:
    """Fork the shim away from the daemon; returns as soon as it is on its own."""
    if open_stdin and not os.path.exists(os.path.join(directory, "stdin")):
        os.mkfifo(os.path.join(directory, "stdin"), 0o600)
    # The shim's stderr goes to a file: a pipe would be inherited by the forked shim and
    # keep us waiting for EOF until the container exits.
    log_path = os.path.join(directory, "shim.log")
    with open(log_path, "ab") as log:
        proc = await asyncio.create_subprocess_exec(
            "setsid", "-f", "/bin/sh", "-c", SCRIPT, SHIM_NAME, directory, runc, runc_root, cid,
            "1" if open_stdin else "0",
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
