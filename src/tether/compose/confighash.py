"""`com.docker.compose.config-hash`, computed exactly as docker-compose 1.29.2 does.

compose recreates a container when this label differs from the hash of the service's
current config. Computing the same value (sha256 of the sorted, compact JSON of
`Service.config_dict()`) means neither tool recreates the other's unchanged containers.
Keys tether does not act on are hashed as written, so changing them still recreates.
"""

from __future__ import annotations

import hashlib
import json

from tether.compose.model import NetworkDef, Service

# keys compose 1.29.2 takes out of a service's options before hashing them
_NOT_OPTIONS = ("networks", "links", "network_mode", "pid", "ipc", "volumes_from", "secrets",
                "platform", "scale", "deploy", "profiles", "container_name")


def config_dict(svc: Service, networks: dict[str, NetworkDef], image_id: str | None) -> dict:
    """compose 1.29.2's `Service.config_dict()` for the keys tether supports."""
    nets = {networks[n.key].name: dict(n.configured or {}) for n in svc.networks}
    return {
        "options": options(svc),
        "image_id": image_id,
        "links": [[name, alias] for name, alias in svc.links],
        "net": networks[svc.networks[0].key].name if svc.networks else None,
        "ipc_mode": None,
        "networks": nets,
        "secrets": [],
        "volumes_from": [],
    }


def options(svc: Service) -> dict:
    """The service's options after compose's normalisation (environment as a map, ports as
    ServicePort tuples, depends_on with conditions, volumes always present)."""
    out = {k: v for k, v in svc.configured.items() if k not in _NOT_OPTIONS}
    out.update({"device_requests": None, "platform": None, "volumes": [], "image": svc.image})
    if "environment" in out:
        out["environment"] = dict(svc.environment)
    if "ports" in out:
        out["ports"] = [[p.target, p.published, p.protocol, p.mode, p.host_ip] for p in svc.ports]
    if "depends_on" in out:
        out["depends_on"] = dict(svc.depends_on)
    if "command" in out:
        out["command"] = svc.command
    return out


def config_hash(svc: Service, networks: dict[str, NetworkDef], image_id: str | None) -> str:
    dump = json.dumps(config_dict(svc, networks, image_id), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(dump.encode()).hexdigest()
