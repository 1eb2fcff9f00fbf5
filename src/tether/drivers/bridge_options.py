"""The bridge driver's options, parsed once from Docker's string map into a typed record."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from tether.errors import InvalidArgument

BRIDGE_NAME = "com.docker.network.bridge.name"
ENABLE_ICC = "com.docker.network.bridge.enable_icc"
ENABLE_IP_MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
HOST_BINDING_IPV4 = "com.docker.network.bridge.host_binding_ipv4"
DEFAULT_BRIDGE = "com.docker.network.bridge.default_bridge"
MTU = "com.docker.network.driver.mtu"

BRIDGE_PREFIX = "tb-"
IFNAMSIZ = 15
_IFNAME = re.compile(r"^[^/\s:]+$")
_TRUE = ("1", "t", "true")
_FALSE = ("0", "f", "false")


def bridge_name_for(network_id: str) -> str:
    """The kernel bridge of a user network: a fixed prefix and the id, so reconcile finds it."""
    return BRIDGE_PREFIX + network_id[:12]


def _bool(options: dict[str, str], key: str, default: bool) -> bool:
    raw = options.get(key)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise InvalidArgument(f"invalid value {raw!r} for option {key}: expected true or false")


def _mtu(options: dict[str, str]) -> int | None:
    raw = options.get(MTU)
    if raw is None or raw == "":
        return None
    try:
        mtu = int(raw)
    except ValueError:
        raise InvalidArgument(f"invalid value {raw!r} for option {MTU}: not an integer") from None
    if mtu == 0:
        return None
    if not 68 <= mtu <= 65535:
        raise InvalidArgument(f"invalid MTU {mtu}: it must be between 68 and 65535")
    return mtu


def _name(options: dict[str, str]) -> str | None:
    raw = options.get(BRIDGE_NAME)
    if not raw:
        return None
    if len(raw) > IFNAMSIZ or not _IFNAME.match(raw) or raw in (".", ".."):
        raise InvalidArgument(
            f"invalid bridge name {raw!r}: at most {IFNAMSIZ} characters, no '/', ':' or spaces"
        )
    return raw


def _host_ip(options: dict[str, str]) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    raw = options.get(HOST_BINDING_IPV4)
    if not raw:
        return None
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        raise InvalidArgument(f"invalid host binding address {raw!r} for {HOST_BINDING_IPV4}") from None


@dataclass(frozen=True)
class BridgeOptions:
    """What a bridge network's driver options mean.

    `bridge_name` is None when the user gave none: the driver then uses `bridge_name_for(id)`.
    """

    bridge_name: str | None = None
    enable_icc: bool = True
    enable_ip_masquerade: bool = True
    host_binding_ipv4: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    mtu: int | None = None
    default_bridge: bool = False

    @classmethod
    def parse(cls, options: dict[str, str]) -> BridgeOptions:
        """Parse Docker's option map; unknown keys are ignored, as Docker ignores them.

        Raises:
            InvalidArgument: a value is not a boolean, an MTU, an address or a bridge name.
        """
        return cls(
            bridge_name=_name(options),
            enable_icc=_bool(options, ENABLE_ICC, True),
            enable_ip_masquerade=_bool(options, ENABLE_IP_MASQUERADE, True),
            host_binding_ipv4=_host_ip(options),
            mtu=_mtu(options),
            default_bridge=_bool(options, DEFAULT_BRIDGE, False),
        )

    def kernel_name(self, network_id: str) -> str:
        """The bridge this network uses in the kernel."""
        return self.bridge_name or bridge_name_for(network_id)
