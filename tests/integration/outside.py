"""An "outside host": a network namespace joined to the test's namespace by a veth pair.

It plays a machine on the LAN beyond the host: containers reach it through the host's
routing (and masquerading), and it answers HTTP with the source address it saw, so tests can
check egress NAT with real packets. Only addresses inside the test's namespaces are used.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass

import pytest

SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""


@dataclass
class OutsideHost:
    netns: str
    address: str = "198.51.100.2"
    gateway: str = "198.51.100.1"
    port: int = 8080

    def url(self) -> str:
        return f"http://{self.address}:{self.port}/"


def sh(*args: str) -> None:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")


@pytest.fixture(scope="session")
def outside_host():
    from tether.kernel.netns import create_netns, remove_netns

    path = os.path.join(tempfile.mkdtemp(prefix="tether-outside-"), "ns")
    asyncio.run(create_netns(path))
    server = None
    try:
        sh("ip", "link", "add", "txout0", "type", "veth", "peer", "name", "txoutp")
        sh("ip", "link", "set", "txoutp", "netns", path)
        ns = ["nsenter", f"--net={path}"]
        sh("ip", "addr", "add", "198.51.100.1/24", "dev", "txout0")
        sh("ip", "link", "set", "txout0", "up")
        sh(*ns, "ip", "link", "set", "txoutp", "name", "eth0")
        sh(*ns, "ip", "addr", "add", "198.51.100.2/24", "dev", "eth0")
        sh(*ns, "ip", "link", "set", "eth0", "up")
        sh(*ns, "ip", "route", "add", "default", "via", "198.51.100.1")
        server = subprocess.Popen([*ns, sys.executable, "-c", SERVER])
        host = OutsideHost(path)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(host.url(), timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        yield host
    finally:
        if server:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", "txout0"], check=False, capture_output=True)
        asyncio.run(remove_netns(path))
