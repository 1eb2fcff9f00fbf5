"""The flags of `run` and `create`, parsed once into a `RunOptions` record."""

from __future__ import annotations

import argparse

from tether.cli.args import Parser, key_values, multi

_LISTS = (
    (("--add-host",), "add_hosts"), (("-e", "--env"), "env"), (("--link",), "links"),
    (("--dns",), "dns"), (("--dns-search",), "dns_search"),
    (("--dns-option", "--dns-opt"), "dns_options"), (("-p", "--publish"), "publish"),
    (("--expose",), "expose"), (("-l", "--label"), "labels"), (("--cap-add",), "cap_add"),
    (("--network-alias", "--alias"), "aliases"), (("--link-local-ip",), "link_local"),
    (("-v", "--volume"), "volumes"), (("--tmpfs",), "tmpfs"),
)


def parser(command: str) -> Parser:
    p = Parser(command, usage=f"tether {command} [OPTIONS] IMAGE [COMMAND] [ARG...]")
    for flags, dest in _LISTS:
        multi(p, *flags, dest=dest)
    for flags, dest in ((("--name",), "name"), (("--network", "--net"), "network"),
                        (("--ip",), "ip"), (("--ip6",), "ip6"),
                        (("--mac-address",), "mac"), (("-h", "--hostname"), "hostname"),
                        (("--domainname",), "domainname"), (("-w", "--workdir"), "workdir"),
                        (("-u", "--user"), "user")):
        p.add_argument(*flags, dest=dest, default="")
    p.add_argument("--entrypoint", default=None)
    p.add_argument("--detach-keys", default="")
    for flags, dest in ((("-d", "--detach"), "detach"), (("--rm",), "rm"),
                        (("-P", "--publish-all"), "publish_all"),
                        (("-i", "--interactive"), "interactive"), (("-t", "--tty"), "tty"),
                        (("--privileged",), "privileged")):
        p.add_argument(*flags, dest=dest, action="store_true")
    p.add_argument("image")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    return p


def parse(command: str, argv: list[str]):
    """Return (RunOptions, parsed namespace) for `run`/`create` arguments."""
    from tether.client.network_body import EndpointOptions
    from tether.client.run_body import RunOptions

    a = parser(command).parse_args(argv)
    endpoint = EndpointOptions(ipv4=a.ip, ipv6=a.ip6, link_local_ips=tuple(a.link_local),
                               aliases=tuple(a.aliases), mac_address=a.mac)
    detach = a.detach if command == "run" else True
    opts = RunOptions(
        image=a.image, cmd=tuple(a.cmd), name=a.name, network=a.network, endpoint=endpoint,
        hostname=a.hostname, domainname=a.domainname, add_hosts=tuple(a.add_hosts),
        env=tuple(a.env), links=tuple(a.links), dns=tuple(a.dns),
        dns_search=tuple(a.dns_search), dns_options=tuple(a.dns_options),
        publish=tuple(a.publish), publish_all=a.publish_all, expose=tuple(a.expose),
        stdin=a.interactive, tty=a.tty, entrypoint=a.entrypoint, workdir=a.workdir,
        user=a.user, labels=key_values(a.labels, "label"), privileged=a.privileged,
        cap_add=tuple(a.cap_add), auto_remove=a.rm, detach=detach,
        volumes=tuple(a.volumes), tmpfs=tuple(a.tmpfs))
    return opts, a
