"""This host's addresses, as flags name them (`--cluster-advertise IP|IFACE[:PORT]`)."""

from __future__ import annotations

import ipaddress
import socket

from tether.errors import InvalidArgument
from tether.kernel.netlink import rtnl


async def advertise_address(value: str) -> str:
    """The IPv4 address `value` names: an address itself, or an interface's first IPv4
    address. A trailing `:PORT` (Docker's form, the API port) is accepted and ignored."""
    head = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    try:
        return str(ipaddress.IPv4Address(head))
    except ValueError:
        pass
    try:
        index = socket.if_nametoindex(head)
    except OSError:
        raise InvalidArgument(
            f"--cluster-advertise {value!r}: no such address or interface") from None
    ipr = await rtnl()
    async for msg in await ipr.addr("dump", index=index, family=socket.AF_INET):
        addr = msg.get("IFA_ADDRESS")
        if addr:
            return addr
    raise InvalidArgument(f"--cluster-advertise {value!r}: interface {head} has no IPv4 address")
