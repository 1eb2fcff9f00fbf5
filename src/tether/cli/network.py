"""`tether network ls|inspect|create|rm|prune|connect|disconnect`."""

from __future__ import annotations

import sys

from tether.cli.args import Parser, key_values, multi, write
from tether.cli.errors import report
from tether.errors import TetherError

DEFAULT_LS = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def main(ctx, argv: list[str]) -> int:
    subs = {"ls": ls, "list": ls, "inspect": inspect, "create": create, "rm": rm,
            "remove": rm, "prune": prune, "connect": connect, "disconnect": disconnect,
            "graph": _netview("graph"), "why": _netview("why")}
    if not argv or argv[0] not in subs:
        write("Usage:  tether network COMMAND\n\nCommands:\n  connect disconnect create "
              "graph inspect ls prune rm why\n")
        return 0 if not argv or argv[0] == "--help" else 1
    return subs[argv[0]](ctx, argv[1:])


def _netview(name: str):
    """`graph` and `why` live in cli.netview, imported only when used."""
    def run(ctx, argv: list[str]) -> int:
        from tether.cli import netview

        return getattr(netview, name)(ctx, argv)
    return run


def ls(ctx, argv: list[str]) -> int:
    p = Parser("network ls")
    multi(p, "-f", "--filter", dest="filters")
    p.add_argument("--format")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)
    from tether.client.views import NETWORK_HEADERS, network_row

    nets = sorted(ctx.client.list_networks(a.filters), key=lambda n: network_row(n)["Name"])
    rows = [network_row(n, trunc=not a.no_trunc) for n in nets]
    from tether.cli.render import listing

    write(listing(a.quiet, a.format, rows, NETWORK_HEADERS, DEFAULT_LS))
    return 0


def inspect(ctx, argv: list[str]) -> int:
    p = Parser("network inspect")
    p.add_argument("-f", "--format")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("names", nargs="+")
    a = p.parse_args(argv)
    from tether.cli.render import inspect_output

    found, errors = [], []
    for name in a.names:
        try:
            found.append(ctx.client.inspect_network(name, verbose=a.verbose))
        except TetherError as err:
            errors.append(err)
    write(inspect_output(found, a.format) if found or not a.format else "\n")
    for err in errors:  # after the output, as docker prints them
        report(err)
    return 1 if errors else 0


def create(ctx, argv: list[str]) -> int:
    p = Parser("network create")
    p.add_argument("-d", "--driver", default="bridge")
    for flag, dest in (("--subnet", "subnets"), ("--gateway", "gateways"),
                       ("--ip-range", "ip_ranges"), ("--aux-address", "aux"),
                       ("--label", "labels"), ("--ipam-opt", "ipam_opts")):
        multi(p, flag, dest=dest)
    multi(p, "-o", "--opt", dest="opts")
    p.add_argument("--ipam-driver", default="default")
    for flag in ("--internal", "--attachable", "--ingress", "--ipv6", "--config-only"):
        p.add_argument(flag, action="store_true")
    p.add_argument("--config-from")
    p.add_argument("--scope", default="")
    p.add_argument("name")
    a = p.parse_args(argv)
    from tether.client.network_body import IPAMRequest

    ipam = IPAMRequest(tuple(a.subnets), tuple(a.gateways), tuple(a.ip_ranges),
                       key_values(a.aux, "aux-address"))
    result = ctx.client.create_network(
        a.name, driver=a.driver, ipam=ipam, ipam_driver=a.ipam_driver,
        ipam_options=key_values(a.ipam_opts, "ipam-opt"), ipv6=a.ipv6, internal=a.internal,
        attachable=a.attachable, ingress=a.ingress, config_only=a.config_only,
        config_from=a.config_from, scope=a.scope, options=key_values(a.opts, "option"),
        labels=key_values(a.labels, "label"))
    write(result["Id"] + "\n")
    return 0


def rm(ctx, argv: list[str]) -> int:
    p = Parser("network rm")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("names", nargs="+")
    a = p.parse_args(argv)
    failed = False
    for name in a.names:
        try:
            ctx.client.remove_network(name)
            write(name + "\n")
        except TetherError as err:
            if a.force and err.status == 404:
                continue
            report(err)
            failed = True
    if failed:
        sys.stderr.write("exit status 1\n")
    return 1 if failed else 0


def prune(ctx, argv: list[str]) -> int:
    p = Parser("network prune")
    p.add_argument("-f", "--force", action="store_true")
    multi(p, "--filter", dest="filters")
    a = p.parse_args(argv)
    if not a.force and not _confirm():
        return 0
    from tether.client.views import pruned_networks

    names = pruned_networks(ctx.client.prune_networks(a.filters))
    if names:
        write("Deleted Networks:\n" + "".join(n + "\n" for n in names))
    return 0


def _confirm() -> bool:
    write("WARNING! This will remove all custom networks not used by at least one container.\n"
          "Are you sure you want to continue? [y/N] ")
    answer = sys.stdin.readline().strip().lower()
    if not answer:
        write("\n")
    return answer in ("y", "yes")


def connect(ctx, argv: list[str]) -> int:
    p = Parser("network connect")
    p.add_argument("--ip", default="")
    p.add_argument("--ip6", default="")
    multi(p, "--alias", dest="aliases")
    multi(p, "--link", dest="links")
    multi(p, "--link-local-ip", dest="link_local")
    multi(p, "--driver-opt", dest="driver_opts")
    p.add_argument("network")
    p.add_argument("container")
    a = p.parse_args(argv)
    from tether.client.network_body import EndpointOptions

    endpoint = EndpointOptions(ipv4=a.ip, ipv6=a.ip6, link_local_ips=tuple(a.link_local),
                               aliases=tuple(a.aliases), links=tuple(a.links),
                               driver_opts=key_values(a.driver_opts, "driver-opt"))
    ctx.client.connect_network(a.network, a.container, endpoint)
    return 0


def disconnect(ctx, argv: list[str]) -> int:
    p = Parser("network disconnect")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("network")
    p.add_argument("container")
    a = p.parse_args(argv)
    ctx.client.disconnect_network(a.network, a.container, a.force)
    return 0


