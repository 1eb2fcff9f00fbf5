"""The OCI bundle config runc runs a container from: a pure function of the container.

What it gives a container is what Docker gives by default: new mount, uts, pid and ipc
namespaces, the sandbox's network namespace (or the host's when there is none), Docker's
default capability set (NET_RAW so ping works; NET_ADMIN only with --privileged or
--cap-add), the sandbox's hosts, resolv.conf and hostname files bind-mounted over /etc,
runc's standard /dev, then the container's own binds, volumes and tmpfs mounts (volumes.py).
No seccomp profile.

The root is an overlay of the image (lower) and the container's own upper directory, and it
is the bundle's first mount: runc mounts it over the empty `root.path` inside the container's
mount namespace, so no namespace but the container's ever holds it (see mountns.py for why
the daemon's mount table must not grow with its containers). The sandbox's network namespace
is the one runc is started in (the shim enters it, shim.py), named by JOINED_NETNS: its pin
is not visible where runc runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.errors import InvalidArgument, KernelError

DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)
ALL_CAPS = DEFAULT_CAPS + (
    "CAP_DAC_READ_SEARCH", "CAP_LINUX_IMMUTABLE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_LEASE", "CAP_AUDIT_CONTROL", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
MASKED_PATHS = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
# runc opens this in its own process, which the shim started inside the sandbox's namespace
JOINED_NETNS = "/proc/self/ns/net"


@dataclass(frozen=True)
class BundleInputs:
    """Everything the config depends on, resolved by the caller (paths, ids, user)."""

    cid: str
    rootfs: str  # an empty directory: the overlay is mounted over it in the container
    lower: str
    upper: str
    work: str
    hosts: str
    resolv: str
    hostname_file: str
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    hostname: str
    uid: int = 0
    gid: int = 0
    netns_path: str | None = None
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    tty: bool = False
    user_mounts: tuple[dict, ...] = ()  # the OCI entries of the container's own mounts


def capabilities(privileged: bool, cap_add: tuple[str, ...]) -> list[str]:
    """Docker's default set plus `cap_add` ("NET_ADMIN", "CAP_NET_ADMIN" or "ALL").

    Raises:
        InvalidArgument: an unknown capability name.
    """
    if privileged:
        return list(ALL_CAPS)
    caps = list(DEFAULT_CAPS)
    for name in cap_add:
        full = "CAP_" + name.upper().removeprefix("CAP_")
        if full == "CAP_ALL":
            return list(ALL_CAPS)
        if full not in ALL_CAPS:
            raise InvalidArgument(f"invalid capability: {name}")
        if full not in caps:
            caps.append(full)
    return caps


def process_spec(b: BundleInputs) -> dict:
    caps = capabilities(b.privileged, b.cap_add)
    return {
        "terminal": b.tty,
        "user": {"uid": b.uid, "gid": b.gid},
        "args": list(b.args),
        "env": list(b.env),
        "cwd": b.cwd or "/",
        "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        "noNewPrivileges": False,
    }


def overlay_options(lower: str, upper: str, work: str) -> str:
    """The option string of an overlay mount; paths must not hold ',' or ':' (ours are hex)."""
    for path in (lower, upper, work):
        if "," in path or ":" in path:
            raise KernelError(f"overlay path {path!r} holds ',' or ':'")
    return f"lowerdir={lower},upperdir={upper},workdir={work}"


def mounts(b: BundleInputs) -> list[dict]:
    def bind(src: str, dst: str) -> dict:
        return {"destination": dst, "type": "bind", "source": src,
                "options": ["rbind", "rprivate"]}
    sys_opts = ["nosuid", "noexec", "nodev"] + ([] if b.privileged else ["ro"])
    taken = {m["destination"] for m in b.user_mounts}
    return [
        {"destination": "/", "type": "overlay", "source": "overlay",
         "options": [overlay_options(b.lower, b.upper, b.work)]},
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_opts},
        # a user's mount on one of these files replaces the engine's, as in dockerd
        *(bind(src, dst) for src, dst in ((b.resolv, "/etc/resolv.conf"),
                                          (b.hostname_file, "/etc/hostname"),
                                          (b.hosts, "/etc/hosts")) if dst not in taken),
        *b.user_mounts,
    ]


def namespaces(b: BundleInputs) -> list[dict]:
    """The host network also means the host's UTS namespace (hostname), as in Docker."""
    spaces = [{"type": t} for t in ("pid", "ipc", "mount")]
    if b.netns_path:
        spaces += [{"type": "uts"}, {"type": "network", "path": JOINED_NETNS}]
    return spaces


def bundle_config(b: BundleInputs) -> dict:
    """The config.json runc reads. Tagged cgroup path `/tether/<id>` so leftovers are findable."""
    linux: dict = {
        "namespaces": namespaces(b),
        "cgroupsPath": f"/tether/{b.cid}",
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
    }
    if not b.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    config = {
        "ociVersion": "1.0.2",
        "process": process_spec(b),
        "root": {"path": b.rootfs, "readonly": False},
        "mounts": mounts(b),
        "linux": linux,
    }
    if b.netns_path:
        config["hostname"] = b.hostname
    return config


def with_network(config: dict, netns_path: str | None, hostname: str) -> dict:
    """`config` joined to the sandbox's network namespace (decided only at start)."""
    b = BundleInputs(cid="", rootfs="", lower="", upper="", work="", hosts="", resolv="",
                     hostname_file="", args=(), env=(), cwd="/", hostname=hostname,
                     netns_path=netns_path)
    out = {**config, "linux": {**config["linux"], "namespaces": namespaces(b)}}
    out.pop("hostname", None)
    if netns_path:
        out["hostname"] = hostname
    return out
