"""Containers as Docker JSON: full inspect (capture 012's shape) and the `ps` summary. Pure.

The top-level NetworkSettings address fields are filled only for the default bridge, as
dockerd does; per-network settings always live under `Networks`.
"""

from __future__ import annotations

from typing import Any

from tether.api.humanize import parse_time, status_text
from tether.engine.facade import ContainerView
from tether.model import Container, Endpoint, Image, MountSpec, Network
from tether.runtime.volumes import volume_data, volumes_root

Version = tuple[int, int]
DEFAULT_BRIDGE = "bridge"
MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def _user_defined(net: Network) -> bool:
    """Docker decides by name: bridge, host and none have no aliases and no DNS names."""
    return net.name not in (DEFAULT_BRIDGE, "host", "none")


def _dns_names(c: Container, ep: Endpoint) -> list[str]:
    """Name, user aliases, short id, hostname: every name the network's DNS answers for."""
    names = (c.name, *ep.request.aliases, c.short_id, c.hostname, *ep.aliases)
    return [n for n in dict.fromkeys(names) if n]


def _aliases(c: Container, net: Network, ep: Endpoint, version: Version) -> list[str] | None:
    """Clients before 1.45 see the user aliases plus the short id and hostname (dockerd
    appended them); from 1.45 exactly what the client asked for, the rest is in DNSNames."""
    if not _user_defined(net):
        return None
    if version >= (1, 45):
        return list(ep.request.aliases) or None
    names = (*ep.request.aliases, c.short_id, c.hostname, *ep.aliases)
    return [n for n in dict.fromkeys(names) if n]


def _ipam_config(ep: Endpoint) -> dict[str, Any] | None:
    req = ep.request
    if not req.has_ipam_config:
        return None
    out: dict[str, Any] = {}
    if req.ipv4 is not None:
        out["IPv4Address"] = str(req.ipv4)
    if req.ipv6 is not None:
        out["IPv6Address"] = str(req.ipv6)
    if req.link_local_ips:
        out["LinkLocalIPs"] = [str(ip) for ip in req.link_local_ips]
    return out


def render_endpoint(c: Container, net: Network, ep: Endpoint, version: Version,
                    *, summary: bool = False) -> dict[str, Any]:
    """One `NetworkSettings.Networks` entry (`summary` is the ps form: Aliases null)."""
    addr = {
        "NetworkID": net.id, "EndpointID": ep.id,
        "Gateway": str(ep.gateway4) if ep.gateway4 else "",
        "IPAddress": str(ep.ipv4.ip) if ep.ipv4 else "",
        "IPPrefixLen": ep.ipv4.network.prefixlen if ep.ipv4 else 0,
        "IPv6Gateway": str(ep.gateway6) if ep.gateway6 else "",
        "GlobalIPv6Address": str(ep.ipv6.ip) if ep.ipv6 else "",
        "GlobalIPv6PrefixLen": ep.ipv6.network.prefixlen if ep.ipv6 else 0,
    }
    out: dict[str, Any] = {
        "IPAMConfig": _ipam_config(ep),
        "Links": list(ep.request.links) or None,
        "Aliases": None if summary else _aliases(c, net, ep, version),
    }
    driver_opts = dict(ep.request.driver_opts) or None
    if version < (1, 44):
        return {**out, **addr, "MacAddress": ep.mac, "DriverOpts": driver_opts}
    out.update({"MacAddress": ep.mac, "DriverOpts": driver_opts})
    if version >= (1, 48):
        out["GwPriority"] = ep.request.gw_priority
    out.update(addr)
    out["DNSNames"] = None if summary or not _user_defined(net) else _dns_names(c, ep)
    return out


def _networks(view: ContainerView, version: Version, summary: bool) -> dict[str, Any]:
    out = {}
    for net_id, ep in view.container.endpoints.items():
        net = view.networks.get(net_id)
        if net is not None:
            out[net.name] = render_endpoint(view.container, net, ep, version, summary=summary)
    return out


def render_ports(c: Container) -> dict[str, Any]:
    """NetworkSettings.Ports: bindings (both families when no host ip) while running."""
    if not c.state.running:
        return {}
    ports: dict[str, Any] = {key: None for key in c.spec.exposed_ports}
    for pb in c.ports:
        key = f"{pb.container_port}/{pb.proto}"
        hosts = [pb.host_ip] if pb.host_ip else ["0.0.0.0", "::"]
        port = str(pb.host_port)
        ports.setdefault(key, None)
        ports[key] = (ports[key] or []) + [{"HostIp": h, "HostPort": port} for h in hosts]
    return ports


def _default_bridge_fields(view: ContainerView) -> dict[str, Any]:
    out = {"EndpointID": "", "Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
           "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": ""}
    for net_id, ep in view.container.endpoints.items():
        net = view.networks.get(net_id)
        if net is not None and net.name == DEFAULT_BRIDGE:
            full = render_endpoint(view.container, net, ep, (1, 41))
            out.update({k: full[k] for k in out})
    return out


def render_network_settings(view: ContainerView, version: Version) -> dict[str, Any]:
    c = view.container
    return {
        "Bridge": "", "SandboxID": c.sandbox_id, "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": render_ports(c),
        "SandboxKey": c.sandbox_key, "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, **_default_bridge_fields(view),
        "Networks": _networks(view, version, summary=False),
    }


def render_state(c: Container) -> dict[str, Any]:
    s = c.state
    return {
        "Status": s.shown_status, "Running": s.running,
        "Paused": s.paused, "Restarting": False,
        "OOMKilled": False, "Dead": s.status == "dead", "Pid": s.pid, "ExitCode": s.exit_code,
        "Error": s.error, "StartedAt": s.started_at, "FinishedAt": s.finished_at,
    }


def _port_bindings(c: Container) -> dict[str, Any]:
    out: dict[str, list[dict[str, str]]] = {}
    for pb in c.spec.port_bindings:
        end = f"-{pb.host_port_end}" if pb.host_port_end else ""
        out.setdefault(f"{pb.container_port}/{pb.proto}", []).append(
            {"HostIp": pb.host_ip, "HostPort": f"{pb.host_port}{end}" if pb.host_port else ""})
    return out


def _host_links(c: Container) -> list[str] | None:
    """Legacy links as dockerd keeps them; on a user-defined network mode dockerd moves them
    to the endpoint and HostConfig.Links reads null (compose 1.29.2 relies on that to decide
    whether a linking service must be recreated after its dependency was)."""
    if c.spec.network_mode not in _LEGACY_LINK_MODES:
        return None
    return [f"/{target}:/{c.name}/{alias}" for target, alias in c.links] or None


_LEGACY_LINK_MODES = ("", "default", "bridge")


def _host_mount(m: MountSpec) -> dict[str, Any]:
    """A HostConfig.Mounts entry as `--mount` sent it."""
    out: dict[str, Any] = {"Type": m.type, "Target": m.target}
    if m.source and not m.anonymous:
        out["Source"] = m.source
    if m.read_only:
        out["ReadOnly"] = True
    if m.type == "bind" and m.propagation != "rprivate":
        out["BindOptions"] = {"Propagation": m.propagation}
    return out


def render_mounts(c: Container, data_root: str) -> list[dict[str, Any]]:
    """The top-level Mounts: binds, volumes and `--mount` tmpfs (not `--tmpfs`), as dockerd."""
    out: list[dict[str, Any]] = []
    for m in c.spec.mounts:
        if m.type == "bind":
            out.append({"Type": "bind", "Source": m.source, "Destination": m.target,
                        "Mode": m.mode, "RW": not m.read_only, "Propagation": m.propagation})
        elif m.type == "volume":
            out.append({"Type": "volume", "Name": m.source,
                        "Source": volume_data(volumes_root(data_root), m.source),
                        "Destination": m.target, "Driver": "local", "Mode": m.mode,
                        "RW": not m.read_only, "Propagation": ""})
        elif m.origin == "Mounts":
            out.append({"Type": "tmpfs", "Source": "", "Destination": m.target, "Mode": "",
                        "RW": not m.read_only, "Propagation": ""})
    return out


def render_host_config(c: Container) -> dict[str, Any]:
    spec = c.spec
    links = _host_links(c)
    mounts = [_host_mount(m) for m in spec.mounts if m.origin == "Mounts"]
    return {
        "Binds": list(spec.binds) if spec.binds is not None else None,
        "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": spec.network_mode, "PortBindings": _port_bindings(c),
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": spec.auto_remove, "VolumeDriver": "", "VolumesFrom": None,
        "CapAdd": list(spec.cap_add) or None, "CapDrop": None, "CgroupnsMode": "host",
        "Dns": list(spec.dns), "DnsOptions": list(spec.dns_options),
        "DnsSearch": list(spec.dns_search), "ExtraHosts": list(spec.extra_hosts) or None,
        "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": links,
        "OomScoreAdj": 0, "PidMode": "", "Privileged": spec.privileged,
        "PublishAllPorts": spec.publish_all_ports, "ReadonlyRootfs": False,
        "SecurityOpt": None, "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864,
        "Runtime": "runc", "ConsoleSize": [0, 0], "Isolation": "", "CpuShares": 0,
        "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
        "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
        "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
        "KernelMemory": 0, "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwap": 0,
        "MemorySwappiness": None, "OomKillDisable": False, "PidsLimit": None, "Ulimits": [],
        "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
        "MaskedPaths": None if spec.privileged else list(MASKED),
        "ReadonlyPaths": None if spec.privileged else list(READONLY),
        **({"Mounts": mounts} if mounts else {}),
        **({"Tmpfs": dict(spec.tmpfs)} if spec.tmpfs else {}),
    }


def render_config(c: Container, image: Image | None) -> dict[str, Any]:
    spec = c.spec
    cmd = list(spec.cmd) or (list(image.cmd) if image and image.cmd else None)
    entrypoint = spec.entrypoint if spec.entrypoint is not None else (
        image.entrypoint if image else None)
    out: dict[str, Any] = {
        "Hostname": c.hostname, "Domainname": spec.domainname, "User": spec.user,
        "AttachStdin": spec.attach_stdin, "AttachStdout": spec.attach_stdout,
        "AttachStderr": spec.attach_stderr,
    }
    exposed = dict.fromkeys((*(image.exposed_ports if image else ()), *spec.exposed_ports))
    if exposed:
        out["ExposedPorts"] = {port: {} for port in exposed}
    out.update({
        "Tty": spec.tty, "OpenStdin": spec.open_stdin, "StdinOnce": spec.stdin_once,
        "Env": list(c.env) or None, "Cmd": cmd, "Image": spec.image,
        "Volumes": {m.target: {} for m in spec.mounts if m.origin == "Volumes"} or None,
        "WorkingDir": spec.working_dir or (image.working_dir if image else ""),
        "Entrypoint": list(entrypoint) if entrypoint is not None else None, "OnBuild": None,
        "Labels": {**(image.labels if image else {}), **spec.labels},
    })
    if spec.stop_signal:
        out["StopSignal"] = spec.stop_signal
    if spec.stop_timeout is not None:
        out["StopTimeout"] = spec.stop_timeout
    return out


def render_container(view: ContainerView, version: Version, data_root: str) -> dict[str, Any]:
    """`GET /containers/{id}/json`."""
    c = view.container
    base = f"{data_root}/containers/{c.id}"
    return {
        "Id": c.id, "Created": c.created, "Path": c.path, "Args": list(c.args),
        "State": render_state(c), "Image": c.image_id,
        "ResolvConfPath": f"{base}/resolv.conf", "HostnamePath": f"{base}/hostname",
        "HostsPath": f"{base}/hosts", "LogPath": f"{base}/{c.id}-json.log",
        "Name": f"/{c.name}", "RestartCount": c.restart_count, "Driver": "overlay2",
        "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": None, "HostConfig": render_host_config(c),
        "GraphDriver": {"Data": None, "Name": "overlay2"}, "Mounts": render_mounts(c, data_root),
        "Config": render_config(c, view.image),
        "NetworkSettings": render_network_settings(view, version),
    }


def render_summary_ports(c: Container) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, bindings in render_ports(c).items():
        port, proto = key.split("/")
        for b in bindings or [None]:
            entry: dict[str, Any] = {"PrivatePort": int(port), "Type": proto}
            if b is not None:
                entry = {"IP": b["HostIp"], **entry,
                         "PublicPort": int(b["HostPort"]) if b["HostPort"] else 0}
            out.append(entry)
    return out


def render_summary(view: ContainerView, version: Version, now: float,
                   data_root: str) -> dict[str, Any]:
    """One `GET /containers/json` entry (`docker ps`)."""
    c = view.container
    created = parse_time(c.created)
    return {
        "Id": c.id, "Names": [f"/{c.name}"], "Image": c.spec.image, "ImageID": c.image_id,
        "Command": " ".join((c.path, *c.args)).strip(), "Created": int(created or 0),
        "Ports": render_summary_ports(c), "Labels": {**(view.image.labels if view.image else {}),
                                                     **c.spec.labels},
        "State": c.state.shown_status, "Status": status_text(c.state, now),
        "HostConfig": {"NetworkMode": c.spec.network_mode},
        "NetworkSettings": {"Networks": _networks(view, version, summary=True)},
        "Mounts": render_mounts(c, data_root),
    }
