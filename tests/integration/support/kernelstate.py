"""Snapshots of what a daemon can leave behind in the test namespace: links, mounts, processes.

Leftovers are judged by difference: what appeared while a daemon ran and is still there once
every container and user network has been removed through the API. The session runs in a
private network + mount + PID namespace, so these reads see only what the tests made.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Names tether gives user-network bridges, host-side veths (see kernel/links.py) and
# macvlan stub parents and host interfaces (drivers/macvlan_options.py). The
# default bridge ("tether0") survives a daemon stop by design, so it is no leak.
LEAK_PREFIXES = ("tb-", "tv", "tm-", "th-")
# What the harness deletes after a daemon has stopped, so the next one starts clean.
CLEAN_PREFIXES = ("tether", "tb-", "tv", "tm-", "th-")


@dataclass(frozen=True)
class Snapshot:
    links: frozenset[str]
    mounts: frozenset[str]
    orphans: frozenset[int]

    def added_since(self, earlier: "Snapshot") -> list[str]:
        """Describe each tagged link, mount and orphan process that is new since `earlier`."""
        out = [f"link {n}" for n in sorted(self.links - earlier.links) if n.startswith(LEAK_PREFIXES)]
        out += [f"mount {m}" for m in sorted(self.mounts - earlier.mounts)]
        out += [f"process {p}: {cmdline(p)}" for p in sorted(self.orphans - earlier.orphans)]
        return out


def links(prefix: list[str]) -> frozenset[str]:
    out = subprocess.run([*prefix, "ip", "-j", "link", "show"], capture_output=True, text=True)
    if out.returncode != 0:
        return frozenset()
    return frozenset(link["ifname"] for link in json.loads(out.stdout or "[]"))


def mounts_under(root: Path) -> frozenset[str]:
    """Mount points at or below root, from this mount namespace's mountinfo."""
    base = str(root)
    with open("/proc/self/mountinfo") as f:
        points = (line.split()[4] for line in f)
        return frozenset(p for p in points if p == base or p.startswith(base + "/"))


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


def orphans(exclude: set[int]) -> frozenset[int]:
    """Live processes adopted by the namespace's init (nsrun): what daemons left running."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in exclude:
            st = _stat(int(name))
            if st is not None and st[0] == 1 and st[1] != "Z":
                found.add(int(name))
    return frozenset(found)


def monitors(exec_root: Path) -> frozenset[int]:
    """The container monitor of the daemon with this exec root (runtime/monitor.py): a part
    of the daemon while it runs, so no leftover then."""
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                argv = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"tether-monitor" in argv and str(exec_root).encode() in argv:
                found.add(int(name))
    return frozenset(found)


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "(gone)"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def snapshot(prefix: list[str], root: Path, exclude: set[int]) -> Snapshot:
    return Snapshot(links(prefix), mounts_under(root), orphans(exclude))


def clean(prefix: list[str], root: Path, pids: frozenset[int]) -> None:
    """Remove a stopped daemon's remains: processes, mounts under root, tagged links, tables."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    for point in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    for name in links(prefix):
        if name.startswith(CLEAN_PREFIXES):
            subprocess.run([*prefix, "ip", "link", "del", name], capture_output=True)
    out = subprocess.run([*prefix, "nft", "-j", "list", "tables"], capture_output=True, text=True)
    for item in json.loads(out.stdout or '{"nftables": []}').get("nftables", []):
        table = item.get("table")
        if table and "tether" in table["name"]:
            subprocess.run([*prefix, "nft", "delete", "table", table["family"], table["name"]],
                           capture_output=True)
