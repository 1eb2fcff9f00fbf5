"""Flatten API objects into the fields the docker CLI formats (`{{.Name}}`, `{{.Status}}`).

These are the CLI's formatter contexts: the names a user writes in `--format` for `ls`/`ps`
style commands, with docker's column headers. Keeping them here means the CLI never reads
Docker's JSON field names itself.
"""

from __future__ import annotations

import time

from tether.units import human_duration

NETWORK_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                   "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
                   "CreatedAt": "CREATED AT"}
CONTAINER_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
                     "RunningFor": "CREATED", "CreatedAt": "CREATED AT", "Status": "STATUS",
                     "Ports": "PORTS", "Names": "NAMES", "Labels": "LABELS", "State": "STATE",
                     "Networks": "NETWORKS", "Mounts": "MOUNTS", "Size": "SIZE"}
IMAGE_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                 "Digest": "DIGEST"}


def short_id(ident: str, trunc: bool = True) -> str:
    """Docker's 12-hex-digit short id (any `sha256:` prefix dropped)."""
    ident = ident.split(":", 1)[1] if ident.startswith("sha256:") else ident
    return ident[:12] if trunc else ident


def labels_text(labels: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def network_name(net: dict) -> str:
    return net.get("Name", "")


def network_id(net: dict) -> str:
    return net.get("Id", "")


def network_row(net: dict, trunc: bool = True) -> dict:
    """The `docker network ls` context of one network."""
    return {
        "ID": short_id(net.get("Id", ""), trunc), "Name": net.get("Name", ""),
        "Driver": net.get("Driver", ""), "Scope": net.get("Scope", ""),
        "IPv6": _bool(net.get("EnableIPv6")), "Internal": _bool(net.get("Internal")),
        "Labels": labels_text(net.get("Labels")),
        "CreatedAt": go_time(net.get("Created", "")),
    }


def _bool(value) -> str:
    return "true" if value else "false"


def go_time(rfc3339: str) -> str:
    """Render `2026-11-28T03:01:06.129890843Z` as Go prints a time.Time (`... +0000 UTC`)."""
    if not rfc3339:
        return ""
    date, _, rest = rfc3339.partition("T")
    clock = rest.rstrip("Z")
    for sep in ("+", "-"):
        if sep in clock:
            clock, _, offset = clock.partition(sep)
            return f"{date} {clock} {sep}{offset.replace(':', '')}"
    return f"{date} {clock} +0000 UTC"


def container_status(c: dict, now: float) -> str:
    """The STATUS column: the daemon's own sentence when it sent one."""
    return c.get("Status") or c.get("State", "")


def ports_text(ports: list | None) -> str:
    """`0.0.0.0:8080->80/tcp, [::]:8080->80/tcp` as docker ps prints it."""
    out = []
    for p in sorted(ports or [], key=lambda p: (p.get("PrivatePort", 0), p.get("Type", ""))):
        private = f"{p.get('PrivatePort')}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort"):
            ip = p.get("IP", "")
            ip = f"[{ip}]" if ":" in ip else ip
            out.append(f"{ip}:{p['PublicPort']}->{private}")
        else:
            out.append(private)
    return ", ".join(out)


def container_row(c: dict, now: float | None = None, trunc: bool = True) -> dict:
    """The `docker ps` context of one container from `GET /containers/json`."""
    now = time.time() if now is None else now
    command = c.get("Command", "")
    if trunc and len(command) > 19:
        command = command[:19] + "…"
    names = [n.lstrip("/") for n in c.get("Names") or []]
    created = c.get("Created", 0)
    networks = (c.get("NetworkSettings") or {}).get("Networks") or {}
    return {
        "ID": short_id(c.get("Id", ""), trunc), "Image": c.get("Image", ""),
        "Command": f'"{command}"',
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(created)),
        "RunningFor": f"{human_duration(now - created)} ago",
        "Status": container_status(c, now), "State": c.get("State", ""),
        "Ports": ports_text(c.get("Ports")),
        "Names": ",".join(n for n in names if "/" not in n),
        "Labels": labels_text(c.get("Labels")), "Networks": ",".join(sorted(networks)),
        "Mounts": "", "Size": "0B",
    }


def container_ids(containers: list[dict], trunc: bool = True) -> list[str]:
    return [short_id(c.get("Id", ""), trunc) for c in containers]


def image_rows(img: dict, now: float | None = None, trunc: bool = True) -> list[dict]:
    """One `docker images` row per repo:tag of an image (`<none>` when untagged)."""
    now = time.time() if now is None else now
    tags = img.get("RepoTags") or ["<none>:<none>"]
    rows = []
    for tag in tags:
        repo, _, name = tag.rpartition(":")
        rows.append({
            "Repository": repo, "Tag": name, "ID": short_id(img.get("Id", ""), trunc),
            "CreatedSince": f"{human_duration(now - img.get('Created', 0))} ago",
            "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S %z %Z",
                                       time.localtime(img.get("Created", 0))),
            "Size": human_size(img.get("Size", 0)), "Digest": "<none>",
        })
    return rows


def human_size(size: float) -> str:
    """go-units HumanSize (decimal units, 3 significant digits): "4.27MB"."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    idx = 0
    while size >= 1000 and idx < len(units) - 1:
        size /= 1000.0
        idx += 1
    return f"{size:.4g}{units[idx]}"


def exit_code_of_wait(result: dict | None) -> int:
    """The StatusCode of a `wait` answer (125 when it carries an error)."""
    if not result:
        return 125
    err = result.get("Error")
    if err and err.get("Message"):
        raise_message = err["Message"]
        from tether.client.transport import DaemonError
        raise DaemonError(raise_message)
    return int(result.get("StatusCode", 125))


def exec_exit_code(info: dict) -> int:
    code = info.get("ExitCode")
    return 126 if code is None else int(code)


def container_id(info: dict) -> str:
    return info.get("Id", "")


def container_tty(info: dict) -> bool:
    return bool((info.get("Config") or {}).get("Tty"))


def pruned_networks(result: dict | None) -> list[str]:
    return list((result or {}).get("NetworksDeleted") or [])
