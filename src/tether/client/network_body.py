"""Build the JSON bodies the docker CLI 28 sends, from typed options.

Pure functions: same options, same bytes as `docker` puts on the wire (see
reference/docker-behaviour/api-captures), so the daemon sees one request shape whichever
client drove it. Maps are emitted with sorted keys, as Go's encoder does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tether.client.bodies import sorted_map
from tether.errors import InvalidArgument


@dataclass(frozen=True)
class IPAMRequest:
    """The --subnet/--gateway/--ip-range/--aux-address flags of `network create`."""

    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    ip_ranges: tuple[str, ...] = ()
    aux_addresses: dict[str, str] = field(default_factory=dict)


def network_create_body(name: str, *, driver: str = "bridge", ipam: IPAMRequest = IPAMRequest(),
                        ipam_driver: str = "default", ipam_options: dict | None = None,
                        ipv6: bool = False, internal: bool = False, attachable: bool = False,
                        ingress: bool = False, config_only: bool = False,
                        config_from: str | None = None, scope: str = "",
                        options: dict | None = None, labels: dict | None = None) -> dict:
    """Return the `POST /networks/create` body, keys in the CLI's order."""
    body: dict = {"Driver": driver, "Scope": scope}
    if ipv6:
        body["EnableIPv6"] = True
    body["IPAM"] = {"Driver": ipam_driver, "Options": sorted_map(ipam_options),
                    "Config": ipam_config(ipam)}
    body.update({"Internal": internal, "Attachable": attachable, "Ingress": ingress,
                 "ConfigOnly": config_only,
                 "ConfigFrom": {"Network": config_from} if config_from else None,
                 "Options": sorted_map(options), "Labels": sorted_map(labels),
                 "Name": name, "CheckDuplicate": True})
    return body


def ipam_config(req: IPAMRequest) -> list[dict]:
    """Pair each gateway, range and aux address with the subnet holding it, as docker does.

    Raises:
        InvalidArgument: with the docker CLI's own sentences, before any request is sent.
    """
    import ipaddress

    if len(req.subnets) < len(req.ip_ranges) or len(req.subnets) < len(req.gateways):
        raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
    # docker parses subnets only to pair them with something; a lone bad one is the daemon's
    # to refuse, with its own sentence
    paired = len(req.subnets) > 1 or req.ip_ranges or req.gateways or req.aux_addresses
    nets = [_parse_subnet(s, ipaddress) for s in req.subnets] if paired else []
    configs: list[dict] = [{"Subnet": s} for s in req.subnets]
    for rng in req.ip_ranges:
        idx = _owner(nets, _parse_net(rng, ipaddress), "range", rng)
        _set_once(configs[idx], "IPRange", rng, "ranges")
    for gw in req.gateways:
        idx = _owner(nets, _parse_ip(gw, ipaddress), "gateway", gw)
        _set_once(configs[idx], "Gateway", gw, "gateways")
    for key, addr in sorted(req.aux_addresses.items()):
        idx = _owner(nets, _parse_ip(addr, ipaddress), "aux-address", addr)
        configs[idx].setdefault("AuxiliaryAddresses", {})[key] = addr
    return [_ordered(c) for c in configs]


def _parse_net(text: str, ipaddress):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise InvalidArgument(f"invalid CIDR address: {text}") from exc


def _parse_subnet(text: str, ipaddress):
    try:
        return _parse_net(text, ipaddress)
    except InvalidArgument as exc:
        raise InvalidArgument(f"invalid subnet: {exc}") from None


def _parse_ip(text: str, ipaddress):
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise InvalidArgument(f"invalid IP address: {text}") from exc


def _owner(nets: list, item, what: str, text: str) -> int:
    for idx, net in enumerate(nets):
        if item.version != net.version:
            continue
        inside = item.subnet_of(net) if hasattr(item, "subnet_of") else item in net
        if inside:
            return idx
    raise InvalidArgument(f"no matching subnet for {what} {text}")


def _set_once(config: dict, key: str, value: str, plural: str) -> None:
    if key in config:
        raise InvalidArgument(
            f"cannot configure multiple {plural} ({value}, {config[key]}) on the same "
            f"subnet ({config['Subnet']})")
    config[key] = value


def _ordered(config: dict) -> dict:
    keys = ("Subnet", "IPRange", "Gateway", "AuxiliaryAddresses")
    return {k: config[k] for k in keys if k in config}


@dataclass(frozen=True)
class EndpointOptions:
    """Per-network options of `run --network` / `network connect`."""

    ipv4: str = ""
    ipv6: str = ""
    link_local_ips: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    mac_address: str = ""
    driver_opts: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.ipv4 or self.ipv6 or self.link_local_ips or self.aliases
                    or self.links or self.mac_address or self.driver_opts)


def endpoint_config(opts: EndpointOptions, *, for_connect: bool = False) -> dict:
    """Return an EndpointSettings object; `connect` sends empty maps where `run` sends null."""
    ipam: dict | None = {}
    if opts.ipv4:
        ipam["IPv4Address"] = opts.ipv4
    if opts.ipv6:
        ipam["IPv6Address"] = opts.ipv6
    if opts.link_local_ips:
        ipam["LinkLocalIPs"] = list(opts.link_local_ips)
    if not ipam and not for_connect:
        ipam = None
    empty_list = [] if for_connect else None
    return {
        "IPAMConfig": ipam, "Links": list(opts.links) or None,
        "Aliases": list(opts.aliases) or empty_list, "MacAddress": opts.mac_address,
        "DriverOpts": sorted_map(opts.driver_opts) if (opts.driver_opts or for_connect) else None,
        "GwPriority": 0, "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
        "IPPrefixLen": 0, "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "DNSNames": None,
    }


def connect_body(container: str, opts: EndpointOptions) -> dict:
    """Return the `POST /networks/{id}/connect` body."""
    return {"Container": container, "EndpointConfig": endpoint_config(opts, for_connect=True)}
