"""kernel/ verbs against the real kernel: idempotent, errno-aware, namespace-correct."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path

import pytest

from tether.errors import KernelError
from tether.kernel import links, netns, nft, sysctl

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def in_ns(path: str, *cmd: str) -> str:
    return subprocess.run(["nsenter", f"--net={path}", *cmd], capture_output=True, text=True,
                          check=True).stdout


async def test_netns_lifecycle_is_idempotent(tmp_path):
    path = str(tmp_path / "ns1")
    await netns.create_netns(path)
    await netns.create_netns(path)
    assert "UP" in in_ns(path, "ip", "-br", "link", "show", "lo")
    assert in_ns(path, "cat", "/proc/sys/net/ipv6/conf/default/disable_ipv6").strip() == "1"
    assert sysctl.get_sysctl("net.ipv6.conf.default.disable_ipv6") == "0"  # ours only
    await netns.enable_ipv6(path)
    assert in_ns(path, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").strip() == "0"
    assert netns.list_netns(str(tmp_path)) == [path]
    await netns.remove_netns(path)
    await netns.remove_netns(path)
    assert not os.path.exists(path)
    assert netns.list_netns(str(tmp_path / "absent")) == []


async def test_netns_with_ipv6_keeps_it(tmp_path):
    path = str(tmp_path / "ns6")
    await netns.create_netns(path, ipv6=True)
    try:
        assert in_ns(path, "cat", "/proc/sys/net/ipv6/conf/default/disable_ipv6").strip() == "0"
    finally:
        await netns.remove_netns(path)


async def test_sysctls_of_many_namespaces_through_a_replaced_private_proc(tmp_path,
                                                                           monkeypatch):
    """Sandboxes' sysctls go through a private procfs (see kernel/sysctl), renewed every
    REUSE lookups: each namespace still gets its own values, the daemon's are untouched."""
    made = []
    real = sysctl._ns.detached_mount
    monkeypatch.setattr(sysctl._ns, "detached_mount", lambda t: made.append(real(t)) or made[-1])
    monkeypatch.setattr(sysctl, "_PROC_SYS", sysctl._ProcSys())
    paths = [str(tmp_path / f"ns{i}") for i in range(sysctl.REUSE // 2 + 3)]
    try:
        for path in paths:  # two writes per namespace: one replacement on the way
            await netns.create_netns(path)
        assert len(made) == 2 and sysctl._PROC_SYS._mount == made[-1]
        for path in paths:
            assert in_ns(path, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6").strip() == "1"
        assert sysctl.get_sysctl("net.ipv6.conf.all.disable_ipv6") == "0"
    finally:
        for path in paths:
            await netns.remove_netns(path)


async def test_sysctls_fall_back_to_the_hosts_proc(tmp_path, monkeypatch):
    def refused(fstype):
        raise PermissionError(1, "fsopen: Operation not permitted")

    monkeypatch.setattr(sysctl, "_PROC_SYS", sysctl._ProcSys())
    monkeypatch.setattr(sysctl._ns, "detached_mount", refused)
    path = str(tmp_path / "nsf")
    await netns.create_netns(path)
    try:
        assert sysctl._PROC_SYS._mount is None
        assert in_ns(path, "cat", "/proc/sys/net/ipv6/conf/default/disable_ipv6").strip() == "1"
        with pytest.raises(KernelError, match="cannot read net.ipv4.nonexistent"):
            sysctl.get_sysctl("net.ipv4.nonexistent")
    finally:
        await netns.remove_netns(path)


async def test_bridge_is_idempotent_and_excluded_from_host_prefixes():
    addrs = [ipaddress.ip_interface("10.232.0.1/24"), ipaddress.ip_interface("fd00:232::1/64")]
    try:
        await links.ensure_bridge("tb-ktest", mtu=1400, addresses=addrs)
        await links.ensure_bridge("tb-ktest", mtu=1400, addresses=addrs)
        out = subprocess.run(["ip", "-br", "addr", "show", "tb-ktest"], capture_output=True,
                             text=True).stdout
        assert "10.232.0.1/24" in out and "fd00:232::1/64" in out
        assert "mtu 1400" in subprocess.run(["ip", "link", "show", "tb-ktest"], capture_output=True,
                                            text=True).stdout
        assert "tb-ktest" in await links.interface_names()
        assert ipaddress.ip_network("10.232.0.0/24") not in await links.host_prefixes()
        await links.ensure_bridge("hostbr9", addresses=[ipaddress.ip_interface("10.233.5.1/24")])
        assert ipaddress.ip_network("10.233.5.0/24") in await links.host_prefixes()
        assert "hostbr9" in await links.interface_names()
    finally:
        await links.remove_link("tb-ktest")
        await links.remove_link("hostbr9")
    await links.remove_link("tb-ktest")  # absent is success
    assert not await links.link_exists("tb-ktest")


async def test_nft_accepts_golden_ruleset_and_reports_errors():
    script = (GOLDEN / "full_ruleset.nft").read_text().replace(" tether", " txgolden")
    try:
        await nft.apply(script)
        assert ("inet", "txgolden") in await nft.list_tables()
        assert ("bridge", "txgolden") in await nft.list_tables()
        await nft.apply(script)  # replaying a full ruleset is allowed
    finally:
        await nft.delete_table("inet", "txgolden")
        await nft.delete_table("bridge", "txgolden")
    await nft.delete_table("inet", "txgolden")
    assert ("inet", "txgolden") not in await nft.list_tables()
    with pytest.raises(KernelError, match="Error"):
        await nft.apply("add rule inet txnope nochain accept\n")
