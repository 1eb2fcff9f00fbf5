"""`tether network graph` and `tether network why`: the topology drawn, reachability explained.

Both read the daemon's topology snapshot (`GET /tether/topology`); the picture is laid out
by graphviz's `dot`, the explanation is `netview.why.explain`, and `why --probe` asks the
daemon to send one real packet from A's namespace and says whether it agrees.
"""

from __future__ import annotations

import json
import sys

from tether.cli.args import Parser, write
from tether.errors import InvalidArgument, Unavailable

FORMATS = ("svg", "png", "dot", "json")
PROTOS = ("tcp", "udp", "sctp")


def graph(ctx, argv: list[str]) -> int:
    p = Parser("network graph")
    p.add_argument("--format", choices=FORMATS, help="svg, png, dot (default) or json")
    p.add_argument("-o", "--output", help="write to FILE (format from its extension)")
    p.add_argument("networks", nargs="*", metavar="NETWORK")
    a = p.parse_args(argv)
    from tether.netview import dot
    from tether.netview.topology import from_json

    fmt = a.format or _format_of(a.output) or "dot"
    topo = dot.select(from_json(ctx.client.topology()), a.networks)
    missing = [n for n in a.networks if topo.network(n) is None]
    if missing:
        raise InvalidArgument(f"network {missing[0]} not found")
    if fmt == "json":
        data = (json.dumps(topo.to_json(), indent=2) + "\n").encode()
    elif fmt == "dot":
        data = dot.render(topo).encode()
    else:
        data = layout(dot.render(topo), fmt)
    _emit(data, a.output)
    return 0


def _format_of(path: str | None) -> str | None:
    ext = path.rpartition(".")[2].lower() if path and "." in path else ""
    return ext if ext in FORMATS else None


def layout(source: str, fmt: str) -> bytes:
    """Run graphviz's `dot` on `source`; Unavailable when graphviz is not installed."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise Unavailable("graphviz is not installed (apt-get install graphviz): "
                          "use --format dot or json")
    r = subprocess.run([exe, f"-T{fmt}"], input=source.encode(), capture_output=True)
    if r.returncode:
        raise Unavailable(f"dot failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def _emit(data: bytes, path: str | None) -> None:
    if path and path != "-":
        with open(path, "wb") as f:
            f.write(data)
        return
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def why(ctx, argv: list[str]) -> int:
    """Exit 0 when A reaches B, 1 when it does not, 2 when --probe disagrees."""
    p = Parser("network why")
    p.add_argument("--port", help="PORT[/PROTO], e.g. 80/tcp (default: any port)")
    p.add_argument("--probe", action="store_true",
                   help="send one real packet from A's namespace and compare")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    a = p.parse_args(argv)
    from tether.netview.topology import from_json
    from tether.netview.why import explain

    port, proto = parse_port(a.port)
    verdict = explain(from_json(ctx.client.topology()), a.a, a.b, port, proto)
    probed = agrees = None
    if a.probe and verdict.target is not None and verdict.target.address:
        t = verdict.target
        probed = ctx.client.probe(a.a, t.address, t.port, t.proto if t.port else "icmp")
        agrees = probed["reached"] is None or probed["reached"] == verdict.reachable
    write(_why_json(verdict, probed, agrees) if a.format == "json"
          else _why_text(a.a, a.b, verdict, probed, agrees))
    if agrees is False:
        return 2
    return 0 if verdict.reachable else 1


def parse_port(text: str | None) -> tuple[int | None, str]:
    if not text:
        return None, "tcp"
    number, _, proto = text.partition("/")
    proto = proto.lower() or "tcp"
    if not number.isdigit() or not 0 < int(number) < 65536 or proto not in PROTOS:
        raise InvalidArgument(f"invalid port {text!r}: expected PORT[/tcp|udp|sctp]")
    return int(number), proto


def _why_text(a: str, b: str, verdict, probed, agrees) -> str:
    head = "reachable" if verdict.reachable else "blocked"
    lines = [f"{a} -> {b}: {head} ({verdict.reason})", verdict.explanation]
    if probed is not None:
        t = verdict.target
        where = f"{t.address}:{t.port}/{t.proto}" if t.port else f"{t.address} (icmp echo)"
        seen = {True: "reached", False: "not reached", None: "no answer, inconclusive"}[
            probed["reached"]]
        word = {True: "agrees with", False: "DISAGREES with", None: "cannot check"}[
            agrees if probed["reached"] is not None else None]
        lines.append(f"probe from {a} to {where}: {probed['detail']} ({seen}); "
                     f"{word} the explanation")
    return "\n".join(lines) + "\n"


def _why_json(verdict, probed, agrees) -> str:
    from dataclasses import asdict

    out = asdict(verdict)
    if probed is not None:
        out["probe"] = {**probed, "agrees": agrees}
    return json.dumps(out, indent=2) + "\n"
