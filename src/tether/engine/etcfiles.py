"""The contents of a container's /etc/hosts, /etc/resolv.conf and /etc/hostname, as data.

Pure functions of the container and its endpoints, so the same container always gets the
same files and tests need no kernel.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from tether.dns.forward import nameservers

HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)

FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


def hosts_file(
    own_addresses: Sequence[str],
    hostname: str,
    domainname: str = "",
    extra_hosts: Iterable[str] = (),
    links: Iterable[tuple[str, Sequence[str]]] = (),
) -> str:
    """Render /etc/hosts as Docker does: header, --add-host lines, links, then our own names.

    `extra_hosts` are "name:address" strings (an IPv6 address may contain colons; the name is
    everything before the first colon). `links` are (address, names) pairs.
    """
    lines = [HOSTS_HEADER]
    for entry in extra_hosts:
        name, _, addr = entry.partition(":")
        if name and addr:
            lines.append(f"{addr.strip('[]')}\t{name}\n")
    for addr, names in links:
        lines.append(f"{addr}\t{' '.join(names)}\n")
    names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    for addr in own_addresses:
        lines.append(f"{addr}\t{names}\n")
    return "".join(lines)


def host_nameservers(resolv_conf: str) -> list[str]:
    """Return the nameservers of a resolv.conf, without loopback ones (useless in a netns)."""
    return list(nameservers(resolv_conf))


def host_search_and_options(resolv_conf: str) -> tuple[list[str], list[str]]:
    """Return the search domains and options of a resolv.conf."""
    search: list[str] = []
    options: list[str] = []
    for line in resolv_conf.splitlines():
        fields = line.split()
        if fields and fields[0] in ("search", "domain"):
            search = fields[1:]
        elif fields and fields[0] == "options":
            options.extend(fields[1:])
    return search, options


def resolv_file(
    host_resolv: str,
    dns: Sequence[str] = (),
    dns_search: Sequence[str] = (),
    dns_options: Sequence[str] = (),
) -> str:
    """Render /etc/resolv.conf for a container without an embedded resolver.

    The container gets --dns servers if given, else the host's non-loopback ones, else the
    public fallback Docker uses; search and options likewise come from flags or the host.
    """
    servers = list(dns) or host_nameservers(host_resolv) or list(FALLBACK_NAMESERVERS)
    search, options = host_search_and_options(host_resolv)
    search = list(dns_search) or search
    options = list(dns_options) or options
    out = [f"nameserver {s}\n" for s in servers]
    if search and search != ["."]:
        out.append(f"search {' '.join(search)}\n")
    if options:
        out.append(f"options {' '.join(options)}\n")
    return "".join(out)


EMBEDDED_RESOLVER = "127.0.0.11"


def embedded_resolv_file(host_resolv: str, dns_search: Sequence[str] = (),
                         dns_options: Sequence[str] = ()) -> str:
    """Render /etc/resolv.conf for a container served by tether's resolver, as Docker does:
    the resolver's address, the search domains, and `ndots:0` unless a --dns-option sets
    ndots itself."""
    search, options = host_search_and_options(host_resolv)
    search = list(dns_search) or search
    options = list(dns_options) or [o for o in options if not o.startswith("ndots:")]
    if not any(o.startswith("ndots:") for o in options):
        options.insert(0, "ndots:0")
    out = [f"nameserver {EMBEDDED_RESOLVER}\n"]
    if search and search != ["."]:
        out.append(f"search {' '.join(search)}\n")
    out.append(f"options {' '.join(options)}\n")
    return "".join(out)
