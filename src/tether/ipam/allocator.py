"""The store-backed IPAM: network pools and endpoint addresses, safe under races.

Store layout (all under `ipam/`):
  ipam/epoch                      bumped by every pool change; its revision guards pool CAS
  ipam/pools/<net id>             the network's pools (codec-encoded tuple of IPAMPool)
  ipam/addresses/<net id>/<addr>  one key per allocated address; the value is its owner

Pools: every allocation or release commits together with a compare-and-swap on `ipam/epoch`,
so two daemons (or coroutines) choosing subnets at once cannot both win with overlapping
pools: the loser re-reads and chooses again. The taken subnets are cached in a `SubnetIndex`
per IP version, reloaded only when the epoch moved under us, so creating the 10,001st network
costs about what the first did.

Addresses: each allocation writes its own key with expect_rev=0, so distinct addresses never
conflict and a lost race costs one retry. An in-memory `AddressBook` per network and version
picks candidates in O(log n) and marks them pending before the first await, so concurrent
allocations in this process never even collide.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Sequence

from tether.errors import CasFailed, Conflict, Forbidden, InvalidArgument, KernelError, Unavailable
from tether.ipam.addresses import AddressBook, interface
from tether.ipam.addresses import address as address_of
from tether.ipam.index import SubnetIndex
from tether.ipam.pools import plan_pools, usable_host_prefixes, validate_requests
from tether.model.network import IPAddress, IPAMPool, IPInterface, IPNetwork, PoolRequest
from tether.store.base import Delete, Put, Store
from tether.store.codec import decode, encode

EPOCH = "ipam/epoch"
POOLS = "ipam/pools/"
ADDRESSES = "ipam/addresses/"
MAX_ATTEMPTS = 1000
IN_USE = "Address already in use"
NOT_USER_SUBNET = (
    "user specified IP address is supported only when connecting to networks with user "
    "configured subnets"
)


def address_prefix(net_id: str) -> str:
    return f"{ADDRESSES}{net_id}/"


class Ipam:
    """Allocates subnets to networks and addresses to endpoints, recording both in `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._taken = {4: SubnetIndex(), 6: SubnetIndex()}
        self._taken_rev = -1  # revision of EPOCH that `_taken` reflects; -1 = never loaded
        self._pool_lock = asyncio.Lock()
        self._books: dict[tuple[str, int], AddressBook] = {}
        self._book_lock = asyncio.Lock()

    # ----- pools -----

    async def allocate_pools(
        self,
        net_id: str,
        requests: Sequence[PoolRequest],
        *,
        enable_ipv6: bool,
        host_prefixes: Sequence[IPNetwork],
        need_gateway: bool = True,
        default_bridge: bool = False,
    ) -> tuple[IPAMPool, ...]:
        """Choose and record the pools of a new network (see `pools.plan_pools`).

        Args:
            host_prefixes: the host's own on-link prefixes; automatic subnets avoid them.
            need_gateway: pick a gateway address when the user gave none (routing drivers).
            default_bridge: the predefined `bridge` network (its gateway is not shown).
        Raises:
            InvalidArgument, Forbidden: see `validate_requests` and `plan_pools`.
            NotFound: no default pool is free.
            Conflict: `net_id` already has pools.
        """
        validate_requests(requests, enable_ipv6)
        host = {v: SubnetIndex(p for p in usable_host_prefixes(host_prefixes) if p.version == v)
                for v in (4, 6)}
        async with self._pool_lock:
            for _ in range(MAX_ATTEMPTS):
                epoch_rev = await self._load_taken()
                pools = plan_pools(requests, self._taken, host, enable_ipv6=enable_ipv6,
                                   need_gateway=need_gateway, default_bridge=default_bridge)
                try:
                    rev = await self.store.commit([
                        Put(EPOCH, net_id.encode(), expect_rev=epoch_rev),
                        Put(POOLS + net_id, encode(pools), expect_rev=0),
                    ])
                except CasFailed:
                    await self._after_lost_race(net_id)
                    continue
                self._record(pools, epoch_rev, rev, add=True)
                return pools
        raise Unavailable("could not record the network's pools: the store kept changing")

    async def release_pools(self, net_id: str) -> None:
        """Forget the network's pools and every address left in them; idempotent."""
        async with self._pool_lock:
            for _ in range(MAX_ATTEMPTS):
                value, rev = await self.store.get(POOLS + net_id)
                if value is None:
                    break
                _, epoch_rev = await self.store.get(EPOCH)
                leftovers = await self.store.list(address_prefix(net_id))
                try:
                    new_rev = await self.store.commit([
                        Put(EPOCH, net_id.encode(), expect_rev=epoch_rev),
                        Delete(POOLS + net_id, expect_rev=rev),
                        *(Delete(key) for key, _, _ in leftovers),
                    ])
                except CasFailed:
                    continue
                self._record(decode(tuple[IPAMPool, ...], value), epoch_rev, new_rev, add=False)
                break
            else:
                raise Unavailable("could not release the network's pools: the store kept changing")
        self._books.pop((net_id, 4), None)
        self._books.pop((net_id, 6), None)

    async def _load_taken(self) -> int:
        """Make `_taken` match the store; return the epoch revision it reflects."""
        _, epoch_rev = await self.store.get(EPOCH)
        if epoch_rev != self._taken_rev:
            taken: dict[int, list[IPNetwork]] = {4: [], 6: []}
            for _, value, _ in await self.store.list(POOLS):
                for pool in decode(tuple[IPAMPool, ...], value):
                    taken[pool.version].append(pool.subnet)
            self._taken = {v: SubnetIndex(nets) for v, nets in taken.items()}
            self._taken_rev = epoch_rev
        return epoch_rev

    async def _after_lost_race(self, net_id: str) -> None:
        if (await self.store.get(POOLS + net_id))[1]:
            raise Conflict(f"network {net_id} already has address pools")
        self._taken_rev = -1

    def _record(self, pools: Sequence[IPAMPool], before: int, after: int, *, add: bool) -> None:
        """Apply our own committed change to the cache, if the cache was current before it."""
        if self._taken_rev != before:
            self._taken_rev = -1
            return
        for pool in pools:
            if add:
                self._taken[pool.version].add(pool.subnet)
            else:
                self._taken[pool.version].remove(pool.subnet)
        self._taken_rev = after

    # ----- addresses -----

    async def allocate_address(
        self,
        net_id: str,
        pools: Sequence[IPAMPool],
        version: int,
        *,
        owner: str,
        requested: IPAddress | None = None,
        name: str = "",
    ) -> IPInterface | None:
        """Give `owner` the requested address, or the lowest free one; None without a pool of
        `version`. `name` (the network's name) only makes the exhaustion error read as Docker's.

        Raises:
            InvalidArgument: a static address on a network without a user subnet, or outside
                every subnet.
            Forbidden: the static address is taken (the gateway and aux addresses count).
            KernelError: no free address is left (Docker answers 500 here too).
        """
        mine = [p for p in pools if p.version == version]
        if requested is not None:
            return await self._allocate_static(net_id, mine, requested, owner)
        if not mine:
            return None
        book = await self._book(net_id, version, mine)
        for attempt in range(2):
            while (hit := book.take_lowest()) is not None:
                pool, addr = hit
                if await self._claim(net_id, version, addr, owner, book):
                    return interface(pool, addr)
            if attempt == 0:  # Others may have released addresses since we last looked.
                book.reload(await self._stored(net_id, version))
        raise KernelError(
            f"no available IPv{version} addresses on this network's address pools: "
            f"{name or net_id[:12]} ({net_id})"
        )

    async def _allocate_static(self, net_id: str, mine: Sequence[IPAMPool],
                               requested: IPAddress, owner: str) -> IPInterface:
        pool = next((p for p in mine if requested in p.subnet), None)
        if not any(p.user_subnet for p in mine) or (pool is not None and not pool.user_subnet):
            raise InvalidArgument(NOT_USER_SUBNET)
        if pool is None:
            raise InvalidArgument(
                f"Invalid address {requested}: It does not belong to any of this network's "
                "subnets"
            )
        book = await self._book(net_id, requested.version, mine)
        addr = int(requested)
        if addr in book.reserved or addr in book.pending:
            raise Forbidden(IN_USE)
        book.take(addr)
        if not await self._claim(net_id, requested.version, addr, owner, book):
            raise Forbidden(IN_USE)
        return interface(pool, addr)

    async def _claim(self, net_id: str, version: int, addr: int, owner: str,
                     book: AddressBook) -> bool:
        """Write the address key if nobody holds it; settle the book either way."""
        key = address_prefix(net_id) + str(address_of(version, addr))
        try:
            await self.store.put(key, owner.encode(), expect_rev=0)
        except CasFailed:
            book.settle(addr, used=True)
            return False
        except BaseException:
            book.settle(addr, used=False)
            raise
        book.settle(addr, used=True)
        return True

    async def release_address(self, net_id: str, address: IPAddress) -> None:
        """Free `address` on the network; idempotent."""
        existed = await self.store.delete(address_prefix(net_id) + str(address))
        book = self._books.get((net_id, address.version))
        if existed and book is not None:
            book.give_back(int(address))

    async def used(self, net_id: str) -> dict[str, str]:
        """Every allocated address of the network and its owner (for reconcile)."""
        prefix = address_prefix(net_id)
        return {key[len(prefix):]: value.decode()
                for key, value, _ in await self.store.list(prefix)}

    async def _book(self, net_id: str, version: int, pools: Sequence[IPAMPool]) -> AddressBook:
        """The network's address book, loaded from the store once."""
        async with self._book_lock:
            book = self._books.get((net_id, version))
            if book is None:
                book = AddressBook(pools, await self._stored(net_id, version))
                self._books[(net_id, version)] = book
            return book

    async def _stored(self, net_id: str, version: int) -> list[int]:
        prefix = address_prefix(net_id)
        out = []
        for key, _, _ in await self.store.list(prefix):
            addr = ipaddress.ip_address(key[len(prefix):])
            if addr.version == version:
                out.append(int(addr))
        return out
