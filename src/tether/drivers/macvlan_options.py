"""The macvlan and ipvlan drivers' options, parsed once from Docker's string map.

Docker's keys: `parent` (a host interface, or `IFACE.VID` for an 802.1Q sub-interface the
driver makes), `macvlan_mode`, `ipvlan_mode`, `ipvlan_flag`. tether adds
`tether.host_access=true` (macvlan): a macvlan interface of the host's own on the same
parent, so the host can reach its containers, which the kernel otherwise forbids.
`tether.host_address` is not given by users: the engine records there the address IPAM
reserved for that interface.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from tether.errors import InvalidArgument

PARENT = "parent"
MACVLAN_MODE = "macvlan_mode"
IPVLAN_MODE = "ipvlan_mode"
IPVLAN_FLAG = "ipvlan_flag"
HOST_ACCESS = "tether.host_access"
HOST_ADDRESS = "tether.host_address"

MACVLAN_MODES = ("bridge", "private", "vepa", "passthru")
IPVLAN_MODES = ("l2", "l3", "l3s")
IPVLAN_FLAGS = ("bridge", "private", "vepa")

STUB_PREFIX = "tm-"  # the parent tether makes for a macvlan/ipvlan network without one
SHIM_PREFIX = "th-"  # the host's own macvlan interface of a `tether.host_access` network
IFNAMSIZ = 15
_IFNAME = re.compile(r"^[^/\s:]+$")
_TRUE = ("1", "t", "true")
_FALSE = ("", "0", "f", "false")


def stub_name(network_id: str) -> str:
    """The private parent of a network created without `parent` (a bridge with no ports:
    this kernel has no dummy links, and an empty bridge serves the same purpose)."""
    return STUB_PREFIX + network_id[:12]


def shim_name(network_id: str) -> str:
    """The host-side macvlan interface of a network with `tether.host_access`."""
    return SHIM_PREFIX + network_id[:12]


@dataclass(frozen=True)
class Vlan:
    """An 802.1Q sub-interface `name` of `base` carrying VLAN `vid` (`-o parent=eth0.10`)."""

    name: str
    base: str
    vid: int


def parse_vlan(parent: str) -> Vlan | None:
    """Read `IFACE.VID` as a VLAN sub-interface; None when `parent` has no such form.

    Raises:
        InvalidArgument: the VLAN id is not a number between 1 and 4094.
    """
    base, dot, vid = parent.rpartition(".")
    if not dot or not base:
        return None
    if not vid.isdigit():
        return None
    if not 1 <= int(vid) <= 4094:
        raise InvalidArgument(f"vlan id must be between 1-4094, received: {int(vid)}")
    return Vlan(name=parent, base=base, vid=int(vid))


def _parent(options: dict[str, str], driver: str) -> str:
    raw = options.get(PARENT, "")
    if raw == "lo":
        raise InvalidArgument(f"loopback interface is not a valid {driver} parent link")
    if raw and (len(raw) > IFNAMSIZ or not _IFNAME.match(raw) or raw in (".", "..")):
        raise InvalidArgument(
            f"invalid parent interface name {raw!r}: at most {IFNAMSIZ} characters, "
            "no '/', ':' or spaces"
        )
    return raw


def _choice(options: dict[str, str], key: str, allowed: tuple[str, ...], error: str) -> str:
    raw = options.get(key, "")
    if raw == "":
        return allowed[0]
    if raw not in allowed:
        raise InvalidArgument(error.format(raw))
    return raw


def _bool(options: dict[str, str], key: str) -> bool:
    raw = options.get(key, "").lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidArgument(f"invalid value {options[key]!r} for option {key}: expected true or false")


def _address(options: dict[str, str]) -> ipaddress.IPv4Interface | None:
    raw = options.get(HOST_ADDRESS)
    if not raw:
        return None
    try:
        return ipaddress.IPv4Interface(raw)
    except ValueError:
        raise InvalidArgument(f"invalid address {raw!r} for option {HOST_ADDRESS}") from None


@dataclass(frozen=True)
class MacvlanOptions:
    """What a macvlan network's options mean; `parent` is "" when the user gave none."""

    parent: str = ""
    mode: str = "bridge"
    host_access: bool = False
    host_address: ipaddress.IPv4Interface | None = None

    @classmethod
    def parse(cls, options: dict[str, str]) -> MacvlanOptions:
        """Parse Docker's option map; unknown keys are ignored, as Docker ignores them.

        Raises:
            InvalidArgument: a bad mode, a loopback or malformed parent, host access in a
                mode where the host's interface could never reach the containers.
        """
        opts = cls(
            parent=_parent(options, "macvlan"),
            mode=_choice(options, MACVLAN_MODE, MACVLAN_MODES,
                         "requested macvlan mode '{}' is not valid, "
                         "'bridge' mode is the macvlan driver default"),
            host_access=_bool(options, HOST_ACCESS),
            host_address=_address(options),
        )
        if opts.host_access and opts.mode in ("private", "passthru"):
            raise InvalidArgument(
                f"{HOST_ACCESS} needs macvlan_mode bridge or vepa: in {opts.mode} mode the "
                "host's macvlan interface could never reach the containers"
            )
        return opts

    def kernel_parent(self, network_id: str) -> str:
        """The link the network's macvlan interfaces hang off."""
        return self.parent or stub_name(network_id)


@dataclass(frozen=True)
class IpvlanOptions:
    """What an ipvlan network's options mean; `parent` is "" when the user gave none."""

    parent: str = ""
    mode: str = "l2"
    flag: str = "bridge"

    @classmethod
    def parse(cls, options: dict[str, str]) -> IpvlanOptions:
        """Parse Docker's option map; unknown keys are ignored, as Docker ignores them.

        Raises:
            InvalidArgument: a bad mode or flag, a loopback or malformed parent.
        """
        return cls(
            parent=_parent(options, "ipvlan"),
            mode=_choice(options, IPVLAN_MODE, IPVLAN_MODES,
                         "requested ipvlan mode '{}' is not valid, "
                         "'l2' mode is the ipvlan driver default"),
            flag=_choice(options, IPVLAN_FLAG, IPVLAN_FLAGS,
                         "requested ipvlan flag '{}' is not valid, "
                         "'bridge' is the ipvlan driver default"),
        )

    def kernel_parent(self, network_id: str) -> str:
        return self.parent or stub_name(network_id)
