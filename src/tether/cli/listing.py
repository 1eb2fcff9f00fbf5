"""`tether ps`, `tether inspect` and `tether port`."""

from __future__ import annotations

from tether.cli.args import Parser, write
from tether.cli.errors import report
from tether.errors import NotFound, TetherError

DEFAULT_PS = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
              "{{.Ports}}\t{{.Names}}")


def ps(ctx, argv: list[str]) -> int:
    p = Parser("ps")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-n", "--last", type=int)
    p.add_argument("-l", "--latest", action="store_true")
    p.add_argument("-f", "--filter", dest="filters", action="append", default=[])
    p.add_argument("--format")
    a = p.parse_args(argv)
    from tether.client.views import CONTAINER_HEADERS, container_row

    limit = 1 if a.latest else a.last
    containers = ctx.client.list_containers(all=a.all or limit is not None,
                                            filters=a.filters, limit=limit)
    rows = [container_row(c, trunc=not a.no_trunc) for c in containers]
    from tether.cli.render import listing

    write(listing(a.quiet, a.format, rows, CONTAINER_HEADERS, DEFAULT_PS))
    return 0


def inspect(ctx, argv: list[str]) -> int:
    """Inspect containers, networks or images by name, trying each kind unless --type says."""
    p = Parser("inspect")
    p.add_argument("-f", "--format")
    p.add_argument("--type", choices=("container", "network", "image"))
    p.add_argument("-s", "--size", action="store_true")
    p.add_argument("names", nargs="+")
    a = p.parse_args(argv)
    from tether.cli.render import inspect_output

    found, errors = [], []
    for name in a.names:
        try:
            found.append(_lookup(ctx.client, name, a.type))
        except TetherError as err:
            errors.append(err)
    write(inspect_output(found, a.format) if found or not a.format else "\n")
    for err in errors:  # after the output, as docker prints them
        report(err)
    return 1 if errors else 0


def _lookup(client, name: str, kind: str | None) -> dict:
    getters = {"container": client.inspect_container, "image": client.inspect_image,
               "network": client.inspect_network}
    if kind:  # one kind: the daemon's own sentence, as docker shows it
        return getters[kind](name)
    for k in ("container", "image", "network"):
        try:
            return getters[k](name)
        except NotFound:
            continue
    raise NotFound(f"Error: No such object: {name}")


def port(ctx, argv: list[str]) -> int:
    """`tether port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports, as docker prints
    them (`80/tcp -> 0.0.0.0:8080`, or only the host side for one private port)."""
    p = Parser("port")
    p.add_argument("container")
    p.add_argument("private", nargs="?")
    a = p.parse_args(argv)
    c = ctx.client.inspect_container(a.container)
    lines = port_lines((c.get("NetworkSettings") or {}).get("Ports") or {}, a.private)
    if lines is None:
        raise NotFound(f"Error: No public port '{a.private}' published for {a.container}")
    write("".join(line + "\n" for line in lines))
    return 0


def _with_proto(private: str) -> str:
    return private if "/" in private else f"{private}/tcp"


def port_lines(ports: dict, private: str | None) -> list[str] | None:
    """Lines for NetworkSettings.Ports; None when `private` is given and not published."""
    def host(b: dict) -> str:
        ip = b.get("HostIp") or "0.0.0.0"
        return f"[{ip}]:{b.get('HostPort')}" if ":" in ip else f"{ip}:{b.get('HostPort')}"

    def order(key: str) -> tuple[int, str]:
        number, _, proto = key.partition("/")
        return int(number) if number.isdigit() else 0, proto

    if private is not None:
        bindings = ports.get(_with_proto(private)) or []
        return [host(b) for b in bindings] or None
    return [f"{key} -> {host(b)}" for key in sorted(ports, key=order)
            for b in ports[key] or []]

