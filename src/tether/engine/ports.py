"""Published ports: allocate host ports, reserve them, and program the kernel's DNAT maps.

Start calls `publish` once per container (after its endpoints are plumbed): every mapping
goes into the firewall's maps in one transaction, and each host port is reserved by a bound
socket held here, so a host process cannot take it later and a port a host process already
holds is refused up front. The IPv6 ones also listen, for what the kernel cannot DNAT
(engine.loopproxy: ::1, and IPv6 to a container without IPv6). Exit calls `unpublish`. UDP conntrack entries of
the ports are flushed both ways, so a client that keeps sending reaches the new owner.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import subprocess
from dataclasses import replace

from tether.drivers.bridge_options import BridgeOptions
from tether.engine import portplan
from tether.engine.loopproxy import LoopProxy
from tether.engine.portplan import PortTaken
from tether.engine.rollback import Rollback
from tether.firewall.portrules import Mapping
from tether.kernel.sysctl import set_sysctl
from tether.model import Container, PortBinding

log = logging.getLogger(__name__)
SOCK_TYPES = {"tcp": (socket.SOCK_STREAM, 0), "udp": (socket.SOCK_DGRAM, 0),
              "sctp": (socket.SOCK_STREAM, socket.IPPROTO_SCTP)}


def ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    with open(path) as f:
        lo, hi = f.read().split()
    return int(lo), int(hi)


def raise_fd_limit() -> None:
    """Each reserved port holds one or two sockets: allow as many as the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def bind_socket(b: PortBinding, family: int, addr: str) -> socket.socket | None:
    """A bound socket holding `b`'s host port; None where the host has no SCTP.
    Raises OSError(EADDRINUSE) when a host process holds it."""
    kind, proto = SOCK_TYPES[b.proto]
    fam = socket.AF_INET if family == 4 else socket.AF_INET6
    try:
        s = socket.socket(fam, kind, proto)
    except OSError as exc:
        if exc.errno in (errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT, errno.EAFNOSUPPORT):
            return None  # nothing on this host can take the port either
        raise
    try:
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, b.host_port))
    except OSError:
        s.close()
        raise
    return s


class Ports:
    """Host-port reservations and DNAT programming for running containers."""

    def __init__(self, state, firewall) -> None:
        self.state = state
        self.firewall = firewall
        self.held: dict[str, list[tuple[PortBinding, socket.socket]]] = {}
        self.proxy = LoopProxy()
        raise_fd_limit()

    def taken(self, cid: str) -> list[PortBinding]:
        return [b for c in self.state.containers.values()
                if c.id != cid and c.state.running for b in c.ports]

    async def publish(self, c: Container, image_exposed, undo: Rollback) -> Container:
        """Allocate, reserve and program `c`'s ports; returns `c` with `ports` filled in."""
        want = portplan.wanted(c, image_exposed)
        if not want:
            return c
        tgt = portplan.target(c, self.state.networks)
        if tgt is None:
            return c
        hb = BridgeOptions.parse(tgt.net.options).host_binding_ipv4
        want = [portplan.default_host_ip(b, str(hb) if hb else "") for b in want]
        try:
            bound = portplan.allocate(want, self.taken(c.id), ephemeral_range(), self.usable)
            self.reserve(c.id, bound, tgt.ep.ipv4)
        except PortTaken as exc:
            raise PortTaken(f"driver failed programming external connectivity on endpoint "
                            f"{c.name} ({tgt.ep.id}): {exc}") from None
        undo.push(self.release, c.id)
        await self.relay(c.id, tgt.ep)
        maps = portplan.mappings(bound, tgt.ep)
        self.localnet(tgt.net)
        await self.firewall.publish(maps)
        undo.push(self.firewall.unpublish, maps)
        await flush_udp(maps)
        return replace(c, ports=tuple(bound))

    def localnet(self, net) -> None:
        """127.0.0.1 published ports: the bridge must route loopback-sourced packets."""
        bridge = BridgeOptions.parse(net.options).kernel_name(net.id)
        try:
            set_sysctl(f"net/ipv4/conf/{bridge}/route_localnet", "1")
        except OSError as exc:
            log.warning("route_localnet on %s: %s", bridge, exc)

    def usable(self, b: PortBinding) -> bool:
        """Whether the host lets us bind `b` (probe only; `reserve` holds it)."""
        try:
            socks = [bind_socket(b, fam, addr) for fam, addr in portplan.sockets_for(b)]
        except OSError:
            return False
        for s in socks:
            if s is not None:
                s.close()
        return True

    def reserve(self, cid: str, bound: list[PortBinding], addr) -> None:
        """Hold a socket per host port; a host process already on one refuses the start."""
        held = self.held.setdefault(cid, [])
        for b in bound:
            for fam, host in portplan.sockets_for(b):
                try:
                    s = bind_socket(b, fam, host)
                except OSError as exc:
                    if exc.errno != errno.EADDRINUSE:  # e.g. no IPv6 here: nothing to hold
                        log.info("not reserving %s:%d: %s", host, b.host_port, exc)
                        continue
                    self.release(cid)
                    raise PortTaken(
                        f"failed to bind host port for {portplan.shown_ip(b)}:{b.host_port}:"
                        f"{addr.ip if addr else ''}:{b.container_port}/{b.proto}: "
                        "address already in use") from None
                if s is not None:
                    held.append((b, s))

    async def relay(self, cid: str, ep) -> None:
        """Serve the IPv6 sockets of `cid`'s ports in the one in-process proxy: what reaches
        them (::1, or any IPv6 address when the container has none) the kernel cannot DNAT."""
        addr = ep.ipv6 or ep.ipv4
        for b, s in self.held.get(cid, []):
            if s.family == socket.AF_INET6 and addr is not None:
                await self.proxy.serve(cid, s, b.proto, (str(addr.ip), b.container_port))

    def release(self, cid: str) -> None:
        self.proxy.stop(cid)
        for _, s in self.held.pop(cid, []):
            s.close()

    async def retarget(self, old: Container, new: Container) -> None:
        """Follow a live connect or disconnect: the ports go to the container's first bridge
        endpoint with a way out, so the maps must never keep pointing at an address a
        disconnect released (the next container to get it would receive the traffic)."""
        before, after = self.mappings(old), self.mappings(new)
        if before == after:
            return
        self.proxy.stop(new.id)
        if before:
            await self.firewall.unpublish(before)
        tgt = portplan.target(new, self.state.networks) if after else None
        if tgt is not None:
            self.localnet(tgt.net)
            await self.firewall.publish(after)
            await self.relay(new.id, tgt.ep)
        await flush_udp(before + after)

    async def unpublish(self, c: Container) -> None:
        """Undo `publish` (exit, teardown); best effort on the kernel side."""
        maps = self.mappings(c)
        self.release(c.id)
        if maps:
            await self.firewall.unpublish(maps)
            await flush_udp(maps)

    def mappings(self, c: Container) -> tuple[Mapping, ...]:
        if not c.ports:
            return ()
        try:
            tgt = portplan.target(c, self.state.networks)
        except Exception:  # noqa: BLE001 - a network turned internal: nothing to map
            return ()
        return portplan.mappings(c.ports, tgt.ep) if tgt else ()

    def all_mappings(self) -> tuple[Mapping, ...]:
        """Every running container's mappings (daemon start rebuilds the maps from these)."""
        return tuple(m for c in self.state.containers.values() if c.state.running
                     for m in self.mappings(c))

    async def adopt(self, c: Container) -> None:
        """Re-reserve the host ports of a container that survived a daemon restart."""
        try:
            self.reserve(c.id, list(c.ports), None)
            tgt = portplan.target(c, self.state.networks) if c.ports else None
            if tgt is not None:
                await self.relay(c.id, tgt.ep)
        except Exception as exc:  # noqa: BLE001 - the mapping itself still works
            log.warning("cannot re-reserve ports of %s: %s", c.name, exc)


async def flush_udp(maps: tuple[Mapping, ...]) -> None:
    """Delete conntrack entries of the UDP host ports, so replies and new packets follow
    the current mapping instead of a stale one (conntrack exits 1 when none matched)."""
    ports = sorted({m.host_port for m in maps if m.proto == "udp"})
    for port in ports:
        for fam in ("ipv4", "ipv6"):
            await asyncio.to_thread(
                subprocess.run, ["conntrack", "-D", "-f", fam, "-p", "udp",
                                 "--orig-port-dst", str(port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
