"""`tether ps` and `tether inspect`."""

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
