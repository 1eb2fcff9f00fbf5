"""`/version` and `/info` bodies: what `docker version`, `docker info` and compose read."""

from __future__ import annotations

import os
import platform
import socket
from datetime import datetime, timezone
from typing import Any

from tether.api.versioning import MAX_API_TEXT, MIN_API_TEXT

GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def host_facts() -> dict[str, Any]:
    """Facts about this host that never change while the daemon runs (read once)."""
    uname = platform.uname()
    return {
        "kernel": uname.release,
        "arch": GOARCH.get(uname.machine, uname.machine),
        "machine": uname.machine,
        "hostname": socket.gethostname(),
        "ncpu": os.cpu_count() or 1,
        "mem_total": _mem_total(),
        "os_name": _os_pretty_name(),
    }


def _mem_total() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _os_pretty_name() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def render_version(info: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any]:
    """`GET /version`; `info` is make_app's version_info (Version, GitCommit, BuildTime)."""
    version = str(info.get("Version", "0.0.0"))
    details = {
        "ApiVersion": MAX_API_TEXT, "Arch": facts["arch"],
        "BuildTime": info.get("BuildTime", ""), "Experimental": "false",
        "GitCommit": info.get("GitCommit", ""), "GoVersion": info.get("GoVersion", _py()),
        "KernelVersion": facts["kernel"], "MinAPIVersion": MIN_API_TEXT, "Os": "linux",
    }
    return {
        "Platform": {"Name": f"tether {version}"},
        "Components": [{"Name": "Engine", "Version": version, "Details": details}],
        "Version": version,
        "ApiVersion": MAX_API_TEXT,
        "MinAPIVersion": MIN_API_TEXT,
        "GitCommit": details["GitCommit"],
        "GoVersion": details["GoVersion"],
        "Os": "linux",
        "Arch": facts["arch"],
        "KernelVersion": facts["kernel"],
        "Experimental": False,
        "BuildTime": details["BuildTime"],
    }


def _py() -> str:
    return f"python{platform.python_version()}"


def render_info(counts: dict[str, Any], info: dict[str, Any],
                facts: dict[str, Any]) -> dict[str, Any]:
    """`GET /info`; `counts` is engine.info() (containers, running, paused, stopped, images,
    data_root, id)."""
    containers = int(counts.get("containers", 0))
    running = int(counts.get("running", 0))
    paused = int(counts.get("paused", 0))
    return {
        "ID": str(counts.get("id", "")),
        "Containers": containers,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": int(counts.get("stopped", containers - running - paused)),
        "Images": int(counts.get("images", 0)),
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"]],
        "Plugins": {
            "Volume": ["local"],
            "Network": list(counts.get("network_drivers",
                                       ["bridge", "host", "macvlan", "null", "overlay"])),
            "Authorization": None,
            "Log": ["json-file"],
        },
        "MemoryLimit": True, "SwapLimit": False, "CpuCfsPeriod": True, "CpuCfsQuota": True,
        "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
        "Debug": False, "NFd": 0, "OomKillDisable": False, "NGoroutines": 0,
        "SystemTime": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "2",
        "NEventsListener": int(counts.get("events_listeners", 0)),
        "KernelVersion": facts["kernel"],
        "OperatingSystem": facts["os_name"],
        "OSVersion": "",
        "OSType": "linux",
        "Architecture": facts["machine"],
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": None,
        "NCPU": facts["ncpu"],
        "MemTotal": facts["mem_total"],
        "GenericResources": None,
        "DockerRootDir": str(counts.get("data_root", "/var/lib/tether")),
        "HttpProxy": "", "HttpsProxy": "", "NoProxy": "",
        "Name": facts["hostname"],
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": str(info.get("Version", "0.0.0")),
        "Runtimes": {"runc": {"path": "runc"}},
        "DefaultRuntime": "runc",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "ContainerdCommit": {"ID": ""}, "RuncCommit": {"ID": ""}, "InitCommit": {"ID": ""},
        "SecurityOptions": [],
        "Warnings": list(counts.get("warnings") or []) or None,
        # API <= 1.41's fields of a daemon with an external cluster store (overlays)
        **({"ClusterStore": counts["cluster_store"],
            "ClusterAdvertise": counts.get("cluster_advertise", "")}
           if counts.get("cluster_store") else {}),
    }
