"""The runtime mount namespace: runc starts containers away from the daemon's mount table.

Why: runc copies the mount table it runs in into every new container, reads it back several
times (cgroup v1 lookups, rootfs preparation) and detaches the copy after pivot_root, so a
start costs time in proportion to the mounts around it. The daemon's namespace holds a pin
per sandbox (kernel/netns.py); measured with 600 containers, a plain `runc run -d` took a
median 88 ms there against 29 ms in a namespace with the host's 22 mounts.

So runc runs in a namespace of its own: a private copy of the daemon's, made when the daemon
starts, from which every mount under the `isolate` directories (the netns pins that already
exist, stacked ones included) is removed before it is used. Being private, it receives none
of the pins made later, nor any other mount made after the daemon started (the data and exec
roots must be mounted before, as for any daemon). Containers' rootfs overlays are made by
runc inside each container's own namespace (bundle.py), so this namespace keeps the host's
mounts and nothing more. A pin left in the copy would keep its network namespace, and the
host end of its veths, alive after the container is gone: the keeper says "ready" only once
no mount under `isolate` is left.

The namespace is held by a keeper process reading a pipe from the daemon: it ends with the
daemon, even a killed one, and the next daemon makes a new one (a few ms). Nothing is pinned
on a file: on this kernel, binding a mount namespace file is refused at random ("Invalid
argument", its loop check compares namespace ids that are not handed out in order).
"""

from __future__ import annotations

import asyncio
import os

from tether.errors import KernelError

KEEPER_NAME = "tether-mntns"
# Unmount every mount below each "$@" directory until none is left (a stacked mount shows
# once the one above it is gone), say "ready", then wait for EOF. mountinfo escapes space,
# tab, newline and backslash as octal; the awk decodes them back.
SCRIPT = r"""
below() {
    awk -v d="$1/" '{ p = $5; gsub(/\\040/, " ", p); gsub(/\\011/, "\t", p);
                      gsub(/\\134/, "\\", p); if (index(p, d) == 1) print p }' \
        /proc/self/mountinfo
}
for dir; do
    n=0
    while :; do
        list=$(below "$dir") || exit 1
        [ -n "$list" ] || break
        n=$((n + 1)); [ "$n" -le 64 ] || { echo "mounts under $dir stay" >&2; exit 1; }
        printf '%s\n' "$list" | xargs -d '\n' umount -l || exit 1
    done
done
echo ready
exec cat >/dev/null
"""


class RuntimeNamespace:
    """The mount namespace `runc run` is started in (shim.py enters it with nsenter)."""

    def __init__(self, isolate: tuple[str, ...]) -> None:
        self.isolate = isolate
        self._lock = asyncio.Lock()
        self._keeper: asyncio.subprocess.Process | None = None

    async def path(self) -> str:
        """A path naming the namespace, made on first use and again if its keeper died.

        Raises:
            KernelError: the namespace could not be made.
        """
        async with self._lock:
            if self._keeper is None or self._keeper.returncode is not None:
                self._keeper = await _keeper(self.isolate)
            return f"/proc/{self._keeper.pid}/ns/mnt"

    async def close(self) -> None:
        """End the keeper (containers keep their own namespaces)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper.returncode is None:
            assert keeper.stdin is not None
            keeper.stdin.close()
            try:
                await asyncio.wait_for(keeper.wait(), 5)
            except asyncio.TimeoutError:
                keeper.kill()
                await keeper.wait()


async def _keeper(isolate: tuple[str, ...]) -> asyncio.subprocess.Process:
    """Start a keeper in a fresh private copy of this namespace with nothing under `isolate`."""
    proc = await asyncio.create_subprocess_exec(
        "unshare", "--mount", "--propagation", "private", "sh", "-c", SCRIPT, KEEPER_NAME,
        *isolate, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
    except asyncio.TimeoutError:
        line = b""
    if line.strip() == b"ready":
        return proc
    if proc.returncode is None:
        proc.kill()
    err = (await proc.stderr.read()).decode(errors="replace").strip().splitlines()
    await proc.wait()
    raise KernelError("cannot make the runtime mount namespace: "
                      + (err[-1] if err else "unshare gave no reason"))
