"""The `POST /containers/create` body of `docker run`/`docker create`, from typed options."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from tether.client.bodies import sorted_map
from tether.client.network_body import EndpointOptions, endpoint_config
from tether.errors import InvalidArgument

_BUILTIN_MODES = ("default", "bridge", "host", "none")


@dataclass(frozen=True)
class RunOptions:
    """Everything `run`/`create` accepts; parsed once from the flags."""

    image: str
    cmd: tuple[str, ...] = ()
    name: str = ""
    network: str = ""
    endpoint: EndpointOptions = EndpointOptions()
    hostname: str = ""
    domainname: str = ""
    add_hosts: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    expose: tuple[str, ...] = ()
    stdin: bool = False
    tty: bool = False
    entrypoint: str | None = None
    workdir: str = ""
    user: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    auto_remove: bool = False
    detach: bool = True
    volumes: tuple[str, ...] = ()  # -v: SRC:DST[:MODE] binds, or a bare DST volume
    tmpfs: tuple[str, ...] = ()  # --tmpfs DST[:OPTIONS]


def container_create_body(opts: RunOptions) -> dict:
    """Return the body docker CLI 28 sends for the same flags (all keys, same order).

    Raises:
        InvalidArgument: the client-side checks docker makes before sending anything.
    """
    mode = opts.network or "default"
    if opts.endpoint.aliases and mode in _BUILTIN_MODES:
        raise InvalidArgument("network-scoped aliases are only supported for user-defined networks")
    exposed, bindings = parse_ports(opts.publish, opts.expose)
    body = {
        "Hostname": opts.hostname, "Domainname": opts.domainname, "User": opts.user,
        "AttachStdin": opts.stdin and not opts.detach,
        "AttachStdout": not opts.detach, "AttachStderr": not opts.detach,
    }
    if exposed:
        body["ExposedPorts"] = exposed
    body.update({
        "Tty": opts.tty, "OpenStdin": opts.stdin, "StdinOnce": opts.stdin and not opts.detach,
        "Env": expand_env(opts.env) or None, "Cmd": list(opts.cmd) or None,
        "Image": opts.image,
        "Volumes": {v: {} for v in opts.volumes if ":" not in v}, "WorkingDir": opts.workdir,
        "Entrypoint": [opts.entrypoint] if opts.entrypoint is not None else None,
        "OnBuild": None, "Labels": sorted_map(opts.labels),
        "HostConfig": host_config(opts, mode, bindings),
        "NetworkingConfig": {"EndpointsConfig": endpoints_config(opts, mode)},
    })
    return body


def endpoints_config(opts: RunOptions, mode: str) -> dict:
    """Docker sends a "default" entry without --network, and one only when options need it."""
    if mode == "default" or not opts.endpoint.is_empty():
        return {mode: endpoint_config(opts.endpoint)}
    return {}


def binds(volumes: tuple[str, ...]) -> list[str] | None:
    """The `-v` specs with a source, a relative host path made absolute as docker CLI does."""
    out = []
    for spec in volumes:
        source, colon, rest = spec.partition(":")
        if colon:
            out.append(f"{os.path.abspath(source)}:{rest}" if source.startswith(".") else spec)
    return out or None


def host_config(opts: RunOptions, mode: str, bindings: dict) -> dict:
    """Return HostConfig with every key docker CLI 28 sends, defaults included."""
    tmpfs = dict(t.partition(":")[::2] for t in opts.tmpfs)
    return {
        **({"Tmpfs": tmpfs} if tmpfs else {}),
        "Binds": binds(opts.volumes), "ContainerIDFile": "",
        "LogConfig": {"Type": "", "Config": {}},
        "NetworkMode": mode, "PortBindings": bindings,
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": opts.auto_remove, "VolumeDriver": "", "VolumesFrom": None,
        "ConsoleSize": [0, 0], "CapAdd": list(opts.cap_add) or None, "CapDrop": None,
        "CgroupnsMode": "", "Dns": list(opts.dns), "DnsOptions": list(opts.dns_options),
        "DnsSearch": list(opts.dns_search), "ExtraHosts": list(opts.add_hosts) or None,
        "GroupAdd": None, "IpcMode": "", "Cgroup": "", "Links": list(opts.links) or None,
        "OomScoreAdj": 0, "PidMode": "", "Privileged": opts.privileged,
        "PublishAllPorts": opts.publish_all, "ReadonlyRootfs": False, "SecurityOpt": None,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "Isolation": "", "CpuShares": 0,
        "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
        "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
        "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": -1,
        "OomKillDisable": False, "PidsLimit": 0, "Ulimits": [], "CpuCount": 0,
        "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None,
        "ReadonlyPaths": None,
    }


def expand_env(env: tuple[str, ...]) -> list[str]:
    """`-e NAME` takes NAME from the caller's environment, and is dropped when unset."""
    out = []
    for item in env:
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


def parse_ports(publish: tuple[str, ...], expose: tuple[str, ...]) -> tuple[dict, dict]:
    """Turn -p and --expose into ExposedPorts and PortBindings (sorted like Go maps)."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[dict]] = {}
    for spec in publish:
        for port, host_ip, host_port in _publish_entries(spec):
            exposed[port] = {}
            bindings.setdefault(port, []).append({"HostIp": host_ip, "HostPort": host_port})
    for spec in expose:
        port, proto = _split_proto(spec)
        for number in _port_range(port, spec):
            exposed[f"{number}/{proto}"] = {}
    return ({k: exposed[k] for k in sorted(exposed)}, {k: bindings[k] for k in sorted(bindings)})


def _publish_entries(spec: str) -> list[tuple[str, str, str]]:
    """Parse `[ip:][hostport:]containerport[/proto]` (IPv6 ip in brackets, ranges allowed)."""
    rest, proto = _split_proto(spec)
    host_ip = ""
    if rest.startswith("["):
        host_ip, _, rest = rest[1:].partition("]")
        parts = rest.lstrip(":").split(":")
        parts = parts if len(parts) == 2 else ["", *parts]
    else:
        parts = rest.split(":")
        if len(parts) == 3:
            host_ip, parts = parts[0], parts[1:]
        elif len(parts) == 1:
            parts = ["", parts[0]]
        elif len(parts) != 2:
            raise InvalidArgument(f"invalid port format for --publish: {spec}")
    host, container = parts
    cports = _port_range(container, spec)
    hports = _port_range(host, spec) if host else []
    if hports and len(hports) != len(cports) and len(hports) != 1:
        raise InvalidArgument(f"invalid ranges specified for container and host Ports: {spec}")
    def host_port(idx: int) -> str:
        if not hports:
            return ""
        return str(hports[idx] if len(hports) > 1 else hports[0])

    return [(f"{cport}/{proto}", host_ip, host_port(i)) for i, cport in enumerate(cports)]


def _split_proto(spec: str) -> tuple[str, str]:
    port, _, proto = spec.rpartition("/") if "/" in spec else (spec, "", "tcp")
    proto = proto.lower() or "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    return port, proto


def _port_range(text: str, spec: str) -> list[int]:
    lo, sep, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi) if sep else int(lo)
    except ValueError as exc:
        raise InvalidArgument(f"invalid containerPort: {text}" if text else
                              f"no port specified: {spec}<empty>") from exc
    if not (0 < first <= last <= 65535):
        raise InvalidArgument(f"invalid range specified for port: {text}")
    return list(range(first, last + 1))
