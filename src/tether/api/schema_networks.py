"""Docker network JSON <-> model: create/connect bodies in, inspect objects out.

Pure functions, no I/O. The rendered key order is Docker's, so `docker network inspect`
prints exactly what dockerd prints; clients that speak API >= 1.44 get the fields that
version added (EnableIPv4 from 1.47; MacAddress moved, GwPriority, DNSNames per endpoint).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from tether.api.jsonbody import get_bool, get_int, get_obj, get_str, get_str_list, get_str_map
from tether.engine.facade import NetworkView
from tether.errors import InvalidArgument
from tether.model import Endpoint, EndpointRequest, IPAMPool, Network, NetworkSpec, PoolRequest

Version = tuple[int, int]


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse a subnet as Go's ParseCIDR does: a prefix length is required, host bits allowed."""
    try:
        if "/" not in text:
            raise ValueError(text)
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid CIDR address: {text}") from None


def parse_subnet(text: str,
                 field: str = "subnet") -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An IPAM Subnet (or IPRange); dockerd names the field before Go's parse error, and
    (since moby 25) refuses host bits, saying what was meant."""
    try:
        net = parse_cidr(text)
    except InvalidArgument as exc:
        raise InvalidArgument(f"Invalid {field} {text} : {exc}") from None
    if ipaddress.ip_interface(text).ip != net.network_address:
        raise InvalidArgument(f"invalid {field} {text}: it should be {net}")
    return net


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise InvalidArgument(f"invalid address: {text}") from None


MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$")


def get_mac(body: dict[str, Any], key: str) -> str:
    """A unicast MAC address (lower case, colons), or "" when absent. The kernel refuses a
    multicast one on an interface, which would only surface at start as a 500."""
    text = get_str(body, key)
    if not text:
        return ""
    if not MAC_RE.match(text):
        raise InvalidArgument(f"invalid MAC address: {text}")
    mac = text.lower().replace("-", ":")
    if int(mac[:2], 16) & 1:
        raise InvalidArgument(f"invalid MAC address: {text} is a multicast address")
    return mac


def parse_pool(entry: Any) -> PoolRequest:
    """One IPAM.Config entry; every field may be missing or null."""
    if not isinstance(entry, dict):
        raise InvalidArgument("IPAM.Config entries must be JSON objects")
    subnet, ip_range, gateway = (get_str(entry, k) for k in ("Subnet", "IPRange", "Gateway"))
    aux = get_str_map(entry, "AuxiliaryAddresses")
    return PoolRequest(
        subnet=parse_subnet(subnet) if subnet else None,
        ip_range=parse_subnet(ip_range, "ip-range") if ip_range else None,
        gateway=parse_ip(gateway) if gateway else None,
        aux_addresses=tuple((name, parse_ip(ip)) for name, ip in aux.items()),
    )


def parse_network_create(body: dict[str, Any]) -> NetworkSpec:
    """Turn a `POST /networks/create` body into a NetworkSpec (CheckDuplicate is ignored:
    names are always unique)."""
    name = get_str(body, "Name")
    if not name:
        raise InvalidArgument("network name is missing: the request must include a Name")
    ipam = get_obj(body, "IPAM")
    config = ipam.get("Config") or []
    if not isinstance(config, list):
        raise InvalidArgument("IPAM.Config must be a list")
    config_from = get_obj(body, "ConfigFrom")
    return NetworkSpec(
        name=name,
        driver=get_str(body, "Driver") or "bridge",
        ipam_driver=get_str(ipam, "Driver") or "default",
        ipam_options=get_str_map(ipam, "Options") if ipam.get("Options") is not None else None,
        pools=tuple(parse_pool(entry) for entry in config),
        enable_ipv6=get_bool(body, "EnableIPv6"),
        internal=get_bool(body, "Internal"),
        attachable=get_bool(body, "Attachable"),
        ingress=get_bool(body, "Ingress"),
        config_only=get_bool(body, "ConfigOnly"),
        config_from=get_str(config_from, "Network"),
        options=get_str_map(body, "Options"),
        labels=get_str_map(body, "Labels"),
        scope=get_str(body, "Scope"),
    )


def parse_endpoint_config(body: dict[str, Any]) -> EndpointRequest:
    """An EndpointSettings object (`network connect`, or one EndpointsConfig entry)."""
    ipam = get_obj(body, "IPAMConfig")
    ipv4, ipv6 = get_str(ipam, "IPv4Address"), get_str(ipam, "IPv6Address")
    v4 = parse_ip(ipv4) if ipv4 else None
    v6 = parse_ip(ipv6) if ipv6 else None
    if v4 is not None and v4.version != 4:
        raise InvalidArgument(f"invalid IPv4 address: {ipv4}")
    if v6 is not None and v6.version != 6:
        raise InvalidArgument(f"invalid IPv6 address: {ipv6}")
    return EndpointRequest(
        ipv4=v4,  # type: ignore[arg-type]
        ipv6=v6,  # type: ignore[arg-type]
        link_local_ips=tuple(parse_ip(ip) for ip in get_str_list(ipam, "LinkLocalIPs")),
        aliases=get_str_list(body, "Aliases"),
        links=get_str_list(body, "Links"),
        mac_address=get_mac(body, "MacAddress"),
        driver_opts=get_str_map(body, "DriverOpts"),
        gw_priority=get_int(body, "GwPriority", 0) or 0,
    )


def parse_connect(body: dict[str, Any]) -> tuple[str, EndpointRequest]:
    container = get_str(body, "Container")
    if not container:
        raise InvalidArgument("a container name or id is required to connect to a network")
    return container, parse_endpoint_config(get_obj(body, "EndpointConfig"))


def parse_disconnect(body: dict[str, Any]) -> tuple[str, bool]:
    container = get_str(body, "Container")
    if not container:
        raise InvalidArgument("a container name or id is required to disconnect from a network")
    return container, get_bool(body, "Force")


def render_pool(pool: IPAMPool) -> dict[str, Any]:
    """One IPAM.Config entry; Gateway only when Docker would print it (`show_gateway`)."""
    out: dict[str, Any] = {"Subnet": str(pool.subnet)}
    if pool.ip_range is not None:
        out["IPRange"] = str(pool.ip_range)
    if pool.gateway is not None and pool.show_gateway:
        out["Gateway"] = str(pool.gateway)
    if pool.aux_addresses:
        out["AuxiliaryAddresses"] = {name: str(ip) for name, ip in pool.aux_addresses}
    return out


def render_network_endpoint(name: str, ep: Endpoint) -> dict[str, Any]:
    """One `Containers` entry of network inspect."""
    return {
        "Name": name,
        "EndpointID": ep.id,
        "MacAddress": ep.mac,
        "IPv4Address": str(ep.ipv4) if ep.ipv4 else "",
        "IPv6Address": str(ep.ipv6) if ep.ipv6 else "",
    }


def render_network(net: Network, endpoints: tuple[tuple[str, Endpoint], ...] | None,
                   version: Version) -> dict[str, Any]:
    """A network as inspect shows it; `endpoints` None renders the list form (`{}`)."""
    out: dict[str, Any] = {
        "Name": net.name, "Id": net.id, "Created": net.created, "Scope": net.scope,
        "Driver": net.driver,
    }
    if version >= (1, 47):
        out["EnableIPv4"] = True
    out["EnableIPv6"] = net.enable_ipv6
    out["IPAM"] = {
        "Driver": net.ipam_driver,
        "Options": None if net.ipam_options is None else dict(net.ipam_options),
        "Config": [render_pool(p) for p in net.pools],
    }
    out.update({
        "Internal": net.internal, "Attachable": net.attachable, "Ingress": net.ingress,
        "ConfigFrom": {"Network": net.config_from}, "ConfigOnly": net.config_only,
        "Containers": {ep.container_id: render_network_endpoint(name, ep)
                       for name, ep in (endpoints or ())},
        "Options": dict(net.options), "Labels": dict(net.labels),
    })
    return out


def render_view(view: NetworkView, version: Version) -> dict[str, Any]:
    return render_network(view.network, view.endpoints, version)
