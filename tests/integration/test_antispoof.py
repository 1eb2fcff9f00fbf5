"""Anti-spoofing: a container can send only from its own MAC and IP (nftables bridge rules).

An attacker container sends hand-made frames from a raw socket in its namespace; a second
container captures what reaches it. Spoofed source IPs, spoofed MACs, ARP claiming another
address and VLAN-tagged frames must not arrive; the same frames with the attacker's own
identity must.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

RAW = str(Path(__file__).parent / "support" / "rawframes.py")
FAKE_MAC = "02:42:de:ad:be:ef"


def info(daemon, name: str) -> dict:
    c = daemon.api("GET", f"/containers/{name}/json").json()
    ep = c["NetworkSettings"]["Networks"]["spoofnet"]
    return {"netns": c["NetworkSettings"]["SandboxKey"], "mac": ep["MacAddress"],
            "ip": ep["IPAddress"]}


@pytest.fixture(scope="module")
def pair(daemon, busybox_image):
    assert daemon.api("POST", "/networks/create", {"Name": "spoofnet"}).status == 201
    for name in ("victim", "attacker"):
        body = {"Image": busybox_image, "Cmd": ["sleep", "600"],
                "HostConfig": {"NetworkMode": "spoofnet"}}
        assert daemon.api("POST", f"/containers/create?name={name}", body).status == 201
        assert daemon.api("POST", f"/containers/{name}/start").status == 204
    yield info(daemon, "victim"), info(daemon, "attacker")
    for name in ("victim", "attacker"):
        daemon.api("DELETE", f"/containers/{name}?force=1")
    daemon.api("DELETE", "/networks/spoofnet")


def exchange(victim: dict, attacker: dict, frames: list[dict]) -> list[dict]:
    """Send `frames` from the attacker's eth0; return what the victim's eth0 received."""
    listener = subprocess.Popen(["nsenter", f"--net={victim['netns']}", "python3", RAW,
                                 "listen", "eth0", "1.5"], stdout=subprocess.PIPE, text=True)
    assert listener.stdout.readline().strip() == "ready"
    subprocess.run(["nsenter", f"--net={attacker['netns']}", "python3", RAW, "send", "eth0",
                    json.dumps(frames)], check=True, timeout=30)
    out, _ = listener.communicate(timeout=30)
    return json.loads(out)


def udp(attacker, victim, tag, mac=None, ip=None):
    return {"kind": "udp", "mac": mac or attacker["mac"], "ip": ip or attacker["ip"],
            "dst_mac": victim["mac"], "dst_ip": victim["ip"], "tag": tag}


def test_spoofed_ip_and_mac_frames_are_dropped(pair):
    victim, attacker = pair
    other_ip = victim["ip"].rsplit(".", 1)[0] + ".200"
    got = exchange(victim, attacker, [
        udp(attacker, victim, "legit"),
        udp(attacker, victim, "spoof-ip", ip=other_ip),
        udp(attacker, victim, "spoof-victim-ip", ip=victim["ip"]),
        udp(attacker, victim, "spoof-mac", mac=FAKE_MAC),
        udp(attacker, victim, "spoof-both", mac=FAKE_MAC, ip=other_ip),
        {**udp(attacker, victim, "vlan-spoof-ip", ip=other_ip), "vlan": True},
        {**udp(attacker, victim, "vlan-own-ip"), "vlan": True},
    ])
    tags = {g["tag"] for g in got if g["kind"] == "udp"}
    assert tags == {"legit"}, got


def test_arp_claiming_another_address_is_dropped(pair):
    victim, attacker = pair
    other_ip = victim["ip"].rsplit(".", 1)[0] + ".201"
    got = exchange(victim, attacker, [
        {"kind": "arp", "mac": attacker["mac"], "ip": attacker["ip"], "dst_ip": victim["ip"]},
        {"kind": "arp", "mac": attacker["mac"], "ip": other_ip, "dst_ip": victim["ip"]},
        {"kind": "arp", "mac": attacker["mac"], "sha": FAKE_MAC, "ip": attacker["ip"],
         "dst_ip": victim["ip"]},
    ])
    arps = {(g["sha"], g["ip"]) for g in got if g["kind"] == "arp"}
    assert (attacker["mac"], attacker["ip"]) in arps
    assert (attacker["mac"], other_ip) not in arps
    assert (FAKE_MAC, attacker["ip"]) not in arps


@pytest.fixture(scope="module")
def pair6(daemon, busybox_image):
    body = {"Name": "spoof6", "EnableIPv6": True,
            "IPAM": {"Config": [{"Subnet": "10.97.0.0/24"}, {"Subnet": "fd00:97::/64"}]}}
    assert daemon.api("POST", "/networks/create", body).status == 201
    out = {}
    for name in ("victim6", "attacker6"):
        body = {"Image": busybox_image, "Cmd": ["sleep", "600"],
                "HostConfig": {"NetworkMode": "spoof6"}}
        assert daemon.api("POST", f"/containers/create?name={name}", body).status == 201
        assert daemon.api("POST", f"/containers/{name}/start").status == 204
        c = daemon.api("GET", f"/containers/{name}/json").json()
        ep = c["NetworkSettings"]["Networks"]["spoof6"]
        out[name] = {"netns": c["NetworkSettings"]["SandboxKey"], "mac": ep["MacAddress"],
                     "ip": ep["GlobalIPv6Address"]}
    yield out["victim6"], out["attacker6"]
    for name in ("victim6", "attacker6"):
        daemon.api("DELETE", f"/containers/{name}?force=1")
    daemon.api("DELETE", "/networks/spoof6")


def test_spoofed_ipv6_sources_are_dropped(pair6):
    victim, attacker = pair6
    def udp6(tag, ip):
        return {**udp(attacker, victim, tag, ip=ip), "kind": "udp6"}

    got = exchange(victim, attacker, [
        udp6("own", attacker["ip"]), udp6("link-local", "fe80::1234"),
        udp6("spoof-victim", victim["ip"]), udp6("spoof-other", "fd00:97::beef"),
        udp6("spoof-outside", "2001:db8::1"),
    ])
    assert {g["tag"] for g in got if g["kind"] == "udp"} == {"own", "link-local"}, got


def test_the_rules_are_per_port_set_elements(daemon, pair):
    _, attacker = pair
    table = next(line.split()[-1] for line in subprocess.run(
        ["nft", "list", "tables", "bridge"], capture_output=True, text=True).stdout.splitlines()
        if "tether" in line)
    out = subprocess.run(["nft", "list", "set", "bridge", table, "spoof_ip4"],
                         capture_output=True, text=True).stdout
    assert attacker["ip"] in out
