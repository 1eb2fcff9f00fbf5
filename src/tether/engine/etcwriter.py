"""Writes a container's /etc/hosts, /etc/resolv.conf and /etc/hostname, and the legacy link
environment, from `etcfiles` and `links` (pure) and the daemon's view of the host."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

from tether.engine import etcfiles, links
from tether.engine.containers import Containers
from tether.engine.discovery import Discovery
from tether.engine.state import State
from tether.model import Container, Image


class EtcWriter:
    """Renders and writes the /etc files; `resolv_conf` is the file read as the host's."""

    def __init__(self, state: State, containers: Containers, runtime, discovery: Discovery,
                 resolv_conf: str = "/etc/resolv.conf") -> None:
        self.state = state
        self.containers = containers
        self.runtime = runtime
        self.discovery = discovery
        self.resolv_conf = resolv_conf

    async def write(self, c: Container) -> None:
        """Write the three files of `c` in place (they are bind-mounted into it)."""
        host_resolv = read_text(self.resolv_conf)
        if c.spec.network_mode == "host":
            hosts = read_text("/etc/hosts")
        else:
            own = [str(ep.ipv4.ip) for ep in c.endpoints.values() if ep.ipv4]
            own += [str(ep.ipv6.ip) for ep in c.endpoints.values() if ep.ipv6]
            hosts = etcfiles.hosts_file(own[:1], c.hostname, c.spec.domainname,
                                        c.spec.extra_hosts, links.hosts_entries(self.links(c)))
        if self.discovery.embedded(c):
            resolv = etcfiles.embedded_resolv_file(host_resolv, c.spec.dns_search,
                                                   c.spec.dns_options)
        else:
            resolv = etcfiles.resolv_file(host_resolv, c.spec.dns, c.spec.dns_search,
                                          c.spec.dns_options)
        hostname = c.hostname or os.uname().nodename
        files = ((self.runtime.hosts_path(c.id), hosts),
                 (self.runtime.resolv_path(c.id), resolv),
                 (self.runtime.hostname_path(c.id), hostname + "\n"))
        await asyncio.to_thread(lambda: [write_in_place(path, text) for path, text in files])

    def links(self, c: Container) -> list[tuple[str, Container, str]]:
        return links.resolved_links(c, self.containers.get, self.state.networks)

    def with_link_env(self, c: Container, image: Image) -> Container:
        """`c` with its links' environment variables added (for the process only: dockerd
        does not show them in the container's Config.Env either)."""
        extra = [v for alias, t, ip in self.links(c) for v in links.env_vars(c.name, alias, t, ip)]
        return replace(c, env=(*(c.env or image.env), *extra)) if extra else c

    async def relink(self, target: Container) -> None:
        """Rewrite the hosts file of every running container linked to `target`, whose
        address may just have changed."""
        for cid in list(self.state.linking):
            c = self.state.containers.get(cid)
            if c and c.state.running and cid != target.id and links.links_to(c, target):
                await self.write(c)


def read_text(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def write_in_place(path: str, text: str) -> None:
    """Rewrite a file keeping its inode: the container sees it through a bind mount, which a
    rename would leave pointing at the old file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
