"""What the cluster store holds about endpoints and hosts, and how it becomes local objects.

Pure: no I/O. Keys (under the etcd namespace, `/tether/` by default):

  hosts/<host id>                 {"address", "name"}, attached to the host's lease
  networks/<net id>               the Network (codec), scope "global"
  names/networks/<name>           the network id; created with compare-and-swap
  vnis/<vni>                      the network id; created with compare-and-swap
  ipam/...                        the global IPAM's pools and addresses
  endpoints/<net id>/<ep id>      an EndpointRecord, attached to its host's lease
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import asdict, dataclass

from tether.model import Container, ContainerSpec, Endpoint, EndpointRequest

HOSTS = "hosts/"
NETWORKS = "networks/"
NETWORK_NAMES = "names/networks/"
VNIS = "vnis/"
ENDPOINTS = "endpoints/"
FIRST_VNI = 4096  # Docker's first VXLAN id
LAST_VNI = (1 << 24) - 1


@dataclass(frozen=True)
class EndpointRecord:
    """One endpoint as every host sees it: enough for the data plane and for DNS."""

    host: str
    vtep: str
    network_id: str
    endpoint_id: str
    container_id: str
    name: str
    hostname: str
    aliases: tuple[str, ...]
    mac: str
    ipv4: str | None
    ipv6: str | None

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> EndpointRecord:
        raw = json.loads(data)
        raw["aliases"] = tuple(raw.get("aliases", ()))
        return cls(**raw)


def endpoint_key(net_id: str, ep_id: str) -> str:
    return f"{ENDPOINTS}{net_id}/{ep_id}"


def split_endpoint_key(key: str) -> tuple[str, str] | None:
    """(network id, endpoint id) of an endpoints/ key, or None for anything else."""
    parts = key[len(ENDPOINTS):].split("/")
    return (parts[0], parts[1]) if key.startswith(ENDPOINTS) and len(parts) == 2 else None


def record_of(host: str, vtep: str, c: Container, ep: Endpoint) -> EndpointRecord:
    return EndpointRecord(
        host=host, vtep=vtep, network_id=ep.network_id, endpoint_id=ep.id, container_id=c.id,
        name=c.name, hostname=c.hostname, aliases=tuple(ep.request.aliases), mac=ep.mac,
        ipv4=str(ep.ipv4) if ep.ipv4 else None, ipv6=str(ep.ipv6) if ep.ipv6 else None)


def remote_container(records: list[EndpointRecord]) -> Container:
    """A stand-in Container for a remote container's endpoints (all for one container id),
    so the DNS table answers for it exactly as for a local one."""
    first = records[0]
    endpoints = {
        r.network_id: Endpoint(
            id=r.endpoint_id, network_id=r.network_id, container_id=r.container_id,
            ifname="", mac=r.mac, request=EndpointRequest(aliases=r.aliases),
            ipv4=ipaddress.IPv4Interface(r.ipv4) if r.ipv4 else None,
            ipv6=ipaddress.IPv6Interface(r.ipv6) if r.ipv6 else None)
        for r in records
    }
    return Container(id=first.container_id, name=first.name, created="",
                     spec=ContainerSpec(image=""), image_id="", path="", args=(), env=(),
                     hostname=first.hostname, endpoints=endpoints)


def free_vni(taken: set[int]) -> int:
    """The lowest VNI from Docker's first one that no network holds."""
    vni = FIRST_VNI
    while vni in taken:
        vni += 1
    if vni > LAST_VNI:
        raise ValueError("every VXLAN id is taken")
    return vni
