"""The subjects bench/attach.py measures tether against: the kernel floor, CNI, netavark.

Each is a context manager that prepares its bridge and network namespace (untimed), with
setup() and teardown() doing one attach and one detach. Everything lives in the benchmark's
private namespaces; exit removes what was made.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile

from pyroute2 import IPRoute

CNI_BRIDGE = "/usr/lib/cni/bridge"
NETAVARK = "/usr/lib/podman/netavark"


def make_netns(name: str) -> str:
    subprocess.run(["ip", "netns", "add", name], check=True)
    return f"/run/netns/{name}"


def drop_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "del", name], check=False, stderr=subprocess.DEVNULL)


def drop_link(name: str) -> None:
    subprocess.run(["ip", "link", "del", name], check=False, stderr=subprocess.DEVNULL)


class Floor:
    """The kernel work of an attach, done directly: what any engine has to pay at least."""

    def __init__(self, move: bool = False) -> None:
        self.move = move
        tag = int(move)  # two floors side by side: their own names and subnets
        self.NS, self.BRIDGE, self.TABLE = f"benchfloor{tag}", f"bfl{tag}", f"benchfloor{tag}"
        self.VETH, self.NET = f"bflv{tag}", f"10.77.{tag}"

    def __enter__(self) -> "Floor":
        from tether.kernel import libnftables

        self.path = make_netns(self.NS)
        self.ipr = IPRoute()
        self.ipr.link("add", ifname=self.BRIDGE, kind="bridge")
        self.br = self.ipr.link_lookup(ifname=self.BRIDGE)[0]
        self.ipr.addr("add", index=self.br, address=f"{self.NET}.1", prefixlen=24)
        self.ipr.link("set", index=self.br, state="up")
        self.nsfd = os.open(self.path, os.O_RDONLY)
        self.inner = self._ns_socket()
        self.nft = libnftables.shared()
        assert self.nft is not None, "libnftables1 is needed for the floor"
        self._nft(f"add table inet {self.TABLE}\n"
                  f"add set inet {self.TABLE} ports {{ type ifname; }}\n")
        return self

    def _ns_socket(self) -> IPRoute:
        """An rtnetlink socket inside the namespace, opened by a thread that entered it."""
        import socket
        import threading

        from pyroute2.netlink import NETLINK_ROUTE

        from tether.kernel import _ns

        box: list[socket.socket] = []

        def opener() -> None:
            _ns.enter_net(self.path)
            box.append(socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE))
        t = threading.Thread(target=opener)
        t.start()
        t.join()
        return IPRoute(use_socket=box[0])

    def _nft(self, script: str) -> None:
        status, _, err = self.nft.run_blocking(script)
        if status:
            raise RuntimeError(err)

    def setup(self) -> None:
        if self.move:
            self.ipr.link("add", ifname=self.VETH, kind="veth", peer={"ifname": self.VETH + "p"})
            peer = self.ipr.link_lookup(ifname=self.VETH + "p")[0]
            self.ipr.link("set", index=peer, net_ns_fd=self.nsfd, ifname="eth0")
            host = self.ipr.link_lookup(ifname=self.VETH)[0]
            self.ipr.link("set", index=host, master=self.br, state="up")
        else:
            self.ipr.link("add", ifname=self.VETH, kind="veth", master=self.br, state="up",
                          peer={"ifname": "eth0", "net_ns_fd": self.nsfd})
        idx = self.inner.link_lookup(ifname="eth0")[0]
        self.inner.addr("add", index=idx, address=f"{self.NET}.2", prefixlen=24)
        self.inner.link("set", index=idx, state="up")
        self.inner.route("add", dst="0.0.0.0/0", gateway=f"{self.NET}.1")
        self._nft(f'add element inet {self.TABLE} ports {{ "{self.VETH}" }}\n')

    def teardown(self) -> None:
        self._nft(f'delete element inet {self.TABLE} ports {{ "{self.VETH}" }}\n')
        self.ipr.link("del", ifname=self.VETH)

    def __exit__(self, *exc) -> None:
        drop_link(self.VETH)
        self._nft(f"delete table inet {self.TABLE}\n")
        self.inner.close()
        self.ipr.link("del", index=self.br)
        self.ipr.close()
        os.close(self.nsfd)
        drop_netns(self.NS)


class CniPlugin:
    """A containernetworking-plugins binary exec'd per operation (ADD, DEL), as a runtime
    does; subclasses set PLUGIN and, on __enter__, `conf` and the netns `path`."""

    PLUGIN = ""
    conf = path = container = ""

    def _run(self, command: str) -> None:
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=self.container,
                   CNI_NETNS=self.path, CNI_IFNAME="eth0", CNI_PATH=os.path.dirname(self.PLUGIN))
        r = subprocess.run([self.PLUGIN], input=self.conf, env=env, capture_output=True,
                           text=True)
        if r.returncode:
            raise RuntimeError(f"CNI {command}: {r.stdout} {r.stderr}")

    def setup(self) -> None:
        self.container = secrets.token_hex(32)
        self._run("ADD")

    def teardown(self) -> None:
        self._run("DEL")


class Cni(CniPlugin):
    """containernetworking-plugins' bridge plugin with host-local IPAM, exec'd per operation."""

    NS, BRIDGE, PLUGIN = "benchcni", "bcni0", CNI_BRIDGE

    def __enter__(self) -> "Cni":
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-cni-")
        self.path = make_netns(self.NS)
        self.conf = json.dumps({
            "cniVersion": "1.0.0", "name": "benchcni", "type": "bridge",
            "bridge": self.BRIDGE, "isGateway": True, "ipMasq": True,
            "ipam": {"type": "host-local", "subnet": "10.78.0.0/24",
                     "dataDir": self.tmp.name, "routes": [{"dst": "0.0.0.0/0"}]},
        })
        self.container = ""
        return self

    def __exit__(self, *exc) -> None:
        drop_link(self.BRIDGE)
        drop_netns(self.NS)
        self.tmp.cleanup()


class Netavark:
    """Podman's netavark: bridge driver, iptables firewall, no DNS, exec'd per operation."""

    NS, BRIDGE = "benchnv", "bnv0"

    def __enter__(self) -> "Netavark":
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-netavark-")
        self.path = make_netns(self.NS)
        net_id = secrets.token_hex(32)
        self.opts = json.dumps({
            "container_id": secrets.token_hex(32), "container_name": "bench",
            "networks": {"benchnv": {"interface_name": "eth0", "static_ips": ["10.79.0.2"]}},
            "network_info": {"benchnv": {
                "name": "benchnv", "id": net_id, "driver": "bridge",
                "network_interface": self.BRIDGE,
                "subnets": [{"subnet": "10.79.0.0/24", "gateway": "10.79.0.1"}],
                "ipv6_enabled": False, "internal": False, "dns_enabled": False,
            }},
        })
        return self

    def _run(self, command: str) -> None:
        r = subprocess.run([NETAVARK, "--config", self.tmp.name, command, self.path],
                           input=self.opts, capture_output=True, text=True,
                           env=dict(os.environ, NETAVARK_FW="iptables"))
        if r.returncode:
            raise RuntimeError(f"netavark {command}: {r.stdout} {r.stderr}")

    def setup(self) -> None:
        self._run("setup")

    def teardown(self) -> None:
        self._run("teardown")

    def __exit__(self, *exc) -> None:
        drop_link(self.BRIDGE)
        drop_netns(self.NS)
        self.tmp.cleanup()
