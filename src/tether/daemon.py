"""tetherd: the composition root. Parses flags, builds the engine and serves the API.

Only this module knows every concrete implementation (SQLite store, nftables firewall, runc
runtime); everything below it receives its collaborators.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import platform
import signal
import sys

from tether import __version__

log = logging.getLogger("tetherd")

DEFAULT_DATA_ROOT = "/var/lib/tether"
DEFAULT_EXEC_ROOT = "/run/tether"
DEFAULT_HOST = "unix:///run/tether/tether.sock"
INSTANCE_KEY = "instance/names"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="tetherd", description="tether's daemon: serves the "
                                "Docker Engine API on a UNIX socket.")
    p.add_argument("--data-root", default=DEFAULT_DATA_ROOT, help="persistent state (SQLite, images)")
    p.add_argument("--exec-root", default=DEFAULT_EXEC_ROOT, help="runtime state (netns files, mounts)")
    p.add_argument("-H", "--host", action="append", default=None,
                   help="unix:///PATH (default %s) or tcp://HOST:PORT (TLS only, unless "
                        "--insecure-tcp); repeat to listen on several" % DEFAULT_HOST)
    p.add_argument("--tlscert", default="", help="certificate of the TCP listener (PEM)")
    p.add_argument("--tlskey", default="", help="its private key (PEM)")
    p.add_argument("--tlscacert", default="",
                   help="with --tlsverify: the CA that client certificates must chain to")
    p.add_argument("--tlsverify", action="store_true",
                   help="require a client certificate signed by --tlscacert on TCP")
    p.add_argument("--insecure-tcp", action="store_true",
                   help="allow tcp:// without TLS: anyone who reaches the port is root here")
    p.add_argument("--resolv-conf", default="/etc/resolv.conf",
                   help="the host's resolv.conf: upstream resolvers for containers' DNS")
    p.add_argument("--cluster-store", default="",
                   help="etcd://HOST:PORT[,HOST:PORT...]: the store of overlay networks")
    p.add_argument("--cluster-advertise", default="",
                   help="IP|IFACE[:PORT]: this host's underlay address (VXLAN endpoint)")
    p.add_argument("--cluster-store-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="kv.cacertfile, kv.certfile, kv.keyfile (TLS), kv.namespace, "
                        "kv.timeout, discovery.ttl (seconds)")
    p.add_argument("--ui", metavar="HOST:PORT",
                   help="serve the live topology page there (e.g. 127.0.0.1:8089)")
    p.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warn", "warning", "error", "fatal"])
    return p.parse_args(argv)


def listeners(args: argparse.Namespace) -> tuple[list[str], list[tuple[str, int]]]:
    """(UNIX socket paths, TCP host/port pairs) from the -H flags; refuses plain TCP unless
    --insecure-tcp, and TLS flags that do not fit together, before anything is made."""
    paths, tcp = [], []
    for host in args.host or [DEFAULT_HOST]:
        if host.startswith("unix://"):
            paths.append(host[len("unix://"):])
        elif host.startswith("tcp://"):
            addr, _, port = host[len("tcp://"):].rpartition(":")
            if not addr or not port.isdigit():
                raise SystemExit(f"tetherd: bad --host {host!r}: use tcp://HOST:PORT")
            tcp.append((addr.strip("[]"), int(port)))
        else:
            raise SystemExit(f"tetherd: unsupported --host {host!r}: use unix:///PATH or "
                             "tcp://HOST:PORT")
    tls = bool(args.tlscert or args.tlskey)
    if tls and not (args.tlscert and args.tlskey):
        raise SystemExit("tetherd: --tlscert and --tlskey go together")
    if args.tlsverify and not (tls and args.tlscacert):
        raise SystemExit("tetherd: --tlsverify needs --tlscert, --tlskey and --tlscacert")
    if tcp and not tls and not args.insecure_tcp:
        raise SystemExit("tetherd: a tcp:// listener needs TLS (--tlscert and --tlskey; "
                         "--tlsverify with --tlscacert to require client certificates); "
                         "--insecure-tcp serves plain TCP, which gives root to anyone "
                         "who reaches the port")
    return paths, tcp


def tls_context(args: argparse.Namespace):
    """The server's TLS context for TCP listeners, or None without --tlscert."""
    import ssl

    if not args.tlscert:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.tlscert, args.tlskey)
    if args.tlsverify:
        ctx.load_verify_locations(args.tlscacert)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def version_info() -> dict[str, str]:
    return {
        "Version": __version__, "Os": "linux", "Arch": platform.machine(),
        "KernelVersion": platform.release(), "ApiVersion": "1.50", "MinAPIVersion": "1.41",
    }


async def instance_names(store, exec_root: str) -> tuple[str, str]:
    """(nftables table, default bridge) of this daemon, chosen at its first start and kept.

    A daemon gets `tether` and `tether0`, as documented, unless another daemon sharing this
    network namespace already has a `tether0`: then it takes names derived from its
    exec-root, so that neither touches the other's rules or bridge.
    """
    import json

    from tether.kernel.links import link_exists

    value, _ = await store.get(INSTANCE_KEY)
    if value:
        names = json.loads(value)
        return names["table"], names["bridge"]
    table, bridge = "tether", "tether0"
    if await link_exists(bridge):
        tag = hashlib.sha256(os.path.abspath(exec_root).encode()).hexdigest()[:6]
        table, bridge = f"tether-{tag}", f"tether{tag}"
    await store.put(INSTANCE_KEY, json.dumps({"table": table, "bridge": bridge}).encode())
    return table, bridge


async def build_engine(args: argparse.Namespace):
    """Wire the concrete store, IPAM, drivers, firewall and runtime into an Engine."""
    from tether.dns.forward import Forwarder, HostServers
    from tether.dns.server import Resolver
    from tether.drivers.registry import make_drivers
    from tether.engine.engine import Engine
    from tether.firewall.nftables import NftFirewall
    from tether.ipam.allocator import Ipam
    from tether.kernel.rtwatch import watch_host_prefixes
    from tether.runtime.images import ImageStore
    from tether.runtime.runc import Runtime
    from tether.store.sqlite import SqliteStore

    store = SqliteStore(os.path.join(args.data_root, "tether.db"))
    cluster = await make_cluster(args)
    table, bridge = await instance_names(store, args.exec_root)
    host_prefixes = await watch_host_prefixes()
    return Engine(
        store=store, ipam=Ipam(store), drivers=make_drivers(), firewall=NftFirewall(table),
        runtime=Runtime(args.data_root, args.exec_root), images=ImageStore(args.data_root),
        host_prefixes=host_prefixes, data_root=args.data_root, exec_root=args.exec_root,
        default_bridge=bridge, resolv_conf=args.resolv_conf,
        resolver=Resolver(Forwarder(HostServers(args.resolv_conf))), cluster=cluster,
    ), store, host_prefixes


async def make_cluster(args: argparse.Namespace):
    """The cluster agent when --cluster-store is given (with --cluster-advertise), else None."""
    from tether.engine.cluster import Cluster
    from tether.errors import InvalidArgument
    from tether.kernel.addresses import advertise_address
    from tether.store.etcd import EtcdStore, parse_store_url

    if not args.cluster_store:
        if args.cluster_advertise:
            raise SystemExit("tetherd: --cluster-advertise needs --cluster-store")
        return None
    if not args.cluster_advertise:
        raise SystemExit("tetherd: --cluster-store needs --cluster-advertise IP|IFACE[:PORT]")
    opts = dict(o.partition("=")[::2] for o in args.cluster_store_opt)
    try:
        config = parse_store_url(args.cluster_store, opts)
        address = await advertise_address(args.cluster_advertise)
    except InvalidArgument as exc:
        raise SystemExit(f"tetherd: {exc}") from None
    return Cluster(EtcdStore(config), address, ttl=int(opts.get("discovery.ttl", "15")))


async def serve(args: argparse.Namespace) -> None:
    from tether.api.app import make_app, serve_tcp, serve_unix
    from tether.kernel import reaper
    from tether.kernel.sysctl import set_sysctl

    paths, tcp = listeners(args)
    ssl_context = tls_context(args)
    for d in (args.data_root, args.exec_root):
        os.makedirs(d, mode=0o711, exist_ok=True)
    set_sysctl("net.ipv4.ip_forward", "1")
    reaper.set_owner(hashlib.sha256(os.path.abspath(args.exec_root).encode()).hexdigest()[:12])
    engine, store, host_prefixes = await build_engine(args)
    await engine.start()
    runner = await serve_unix(make_app(engine, version_info=version_info()), paths)
    for host, port in tcp:
        await serve_tcp(runner, host, port, ssl_context)
    log.info("tetherd %s serving %s", __version__, ", ".join(args.host or [DEFAULT_HOST]))
    ui = await serve_page(engine, args.ui) if args.ui else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down; containers keep running")
    await engine.close()  # ends pending waits first, so no request holds the shutdown
    await runner.cleanup()
    if ui is not None:
        await ui.cleanup()
    host_prefixes.close()
    await reaper.drain()
    await store.close()


async def serve_page(engine, address: str):
    """The live topology page (tether.api.ui) on `address`."""
    import socket

    from tether.api.ui import make_ui_app, serve_ui

    runner = await serve_ui(make_ui_app(engine, socket.gethostname()), address)
    log.info("topology page on http://%s/", address)
    return runner


def quiet_pyroute2(record: logging.LogRecord) -> bool:
    """pyroute2 logs every netlink message at debug level: keep only its warnings."""
    return record.levelno >= logging.WARNING or not record.name.startswith("pyroute2")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    level = {"warn": "WARNING", "fatal": "CRITICAL"}.get(args.log_level, args.log_level.upper())
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet_pyroute2)
    if os.geteuid() != 0:
        raise SystemExit("tetherd: must run as root (it creates namespaces, links and nftables rules)")
    # not uvloop here: pyroute2's netlink endpoints need asyncio's own loop (the resolver
    # runs uvloop on a thread of its own, see tether.dns.loop)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
