"""The address of a macvlan network's host-side interface (`tether.host_access=true`).

Drivers never allocate addresses, so the engine asks IPAM for one when the network is
created and records it in the network's options (`tether.host_address`, shown by inspect),
where the driver reads it. It is released with the network's pools.
"""

from __future__ import annotations

from dataclasses import replace

from tether.drivers.macvlan_options import HOST_ADDRESS, MacvlanOptions
from tether.errors import InvalidArgument
from tether.ipam.allocator import Ipam
from tether.model import Network


async def reserve_host_address(ipam: Ipam, net: Network) -> Network:
    """Return `net`, with an address reserved for the host's interface when it asks for one.

    Raises:
        InvalidArgument: host access on a network without an IPv4 subnet.
        KernelError: no address is left in the pools.
    """
    if net.driver != "macvlan" or not MacvlanOptions.parse(net.options).host_access:
        return net
    addr = await ipam.allocate_address(net.id, net.pools, 4, owner="host-access",
                                       name=net.name)
    if addr is None:
        raise InvalidArgument("tether.host_access needs an IPv4 subnet for the host's address")
    return replace(net, options={**net.options, HOST_ADDRESS: str(addr)})
