"""`tether image import|ls|rm|inspect` (+ `images`, `import`) and `tether version`."""

from __future__ import annotations

import sys

from tether.cli.args import Parser, write
from tether.cli.errors import report
from tether.errors import TetherError

DEFAULT_LS = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def main(ctx, argv: list[str]) -> int:
    subs = {"import": import_, "ls": ls, "list": ls, "rm": rm, "remove": rm,
            "inspect": inspect}
    if not argv or argv[0] not in subs:
        write("Usage:  tether image COMMAND\n\nCommands:\n  import inspect ls rm\n")
        return 0 if not argv or argv[0] == "--help" else 1
    return subs[argv[0]](ctx, argv[1:])


def import_(ctx, argv: list[str]) -> int:
    p = Parser("import", usage="tether import [OPTIONS] file|- [REPOSITORY[:TAG]]")
    p.add_argument("-c", "--change", dest="changes", action="append", default=[])
    p.add_argument("-m", "--message")
    p.add_argument("source")
    p.add_argument("repo", nargs="?", default="")
    a = p.parse_args(argv)
    source = sys.stdin.buffer if a.source == "-" else open(a.source, "rb")
    with source:
        for msg in ctx.client.import_image(source, a.repo, tuple(a.changes), a.message):
            if "error" in msg or "errorDetail" in msg:
                from tether.client.transport import error_for

                raise error_for(500, msg.get("error") or msg["errorDetail"].get("message", ""))
            if msg.get("status"):
                write(msg["status"] + "\n")
    return 0


def ls(ctx, argv: list[str]) -> int:
    p = Parser("images")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-f", "--filter", dest="filters", action="append", default=[])
    p.add_argument("--format")
    p.add_argument("reference", nargs="?")
    a = p.parse_args(argv)
    from tether.client.views import IMAGE_HEADERS, image_rows

    filters = a.filters + ([f"reference={a.reference}"] if a.reference else [])
    rows = [r for img in ctx.client.list_images(a.all, filters)
            for r in image_rows(img, trunc=not a.no_trunc)]
    from tether.cli.render import listing

    write(listing(a.quiet, a.format, rows, IMAGE_HEADERS, DEFAULT_LS))
    return 0


def rm(ctx, argv: list[str]) -> int:
    p = Parser("image rm")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("images", nargs="+")
    a = p.parse_args(argv)
    failed = False
    for name in a.images:
        try:
            for item in ctx.client.remove_image(name, a.force):
                for key, value in item.items():
                    write(f"{key}: {value}\n")
        except TetherError as err:
            report(err)
            failed = True
    return 1 if failed else 0


def inspect(ctx, argv: list[str]) -> int:
    from tether.cli.listing import inspect as inspect_any

    return inspect_any(ctx, ["--type", "image", *argv])


def version(ctx, argv: list[str]) -> int:
    p = Parser("version")
    p.add_argument("-f", "--format")
    a = p.parse_args(argv)
    import tether
    from tether.client.api import API_VERSION

    client = {"Version": tether.__version__, "APIVersion": API_VERSION}
    try:
        server = ctx.client.version()
    except TetherError as err:
        server, error = None, err
    data = {"Client": client, "Server": server}
    if a.format:
        from tether.cli.render import inspect_output

        write(inspect_output([data], a.format))
    else:
        write(_version_text(client, server))
    if server is None:
        report(error)
        return 1
    return 0


def _version_text(client: dict, server: dict | None) -> str:
    lines = ["Client:", f" Version:           {client['Version']}",
             f" API version:       {client['APIVersion']}", ""]
    if server:
        lines += ["Server:", f" Version:          {server.get('Version', '')}",
                  f" API version:      {server.get('ApiVersion', '')} "
                  f"(minimum version {server.get('MinAPIVersion', '')})",
                  f" Os/Arch:          {server.get('Os', '')}/{server.get('Arch', '')}"]
    return "\n".join(lines) + "\n"
