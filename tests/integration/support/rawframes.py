"""Craft and capture raw Ethernet frames inside a network namespace (run with nsenter).

    python3 rawframes.py listen IFACE SECONDS      prints a JSON list of what arrived
    python3 rawframes.py send IFACE SPEC_JSON      sends each frame of the spec

Test frames carry a tag: UDP to port 9999 with the tag as payload, or ARP requests whose
target address encodes nothing but whose sender address is the tag's claim. Stdlib only:
it runs under the system python3 in a container's namespace, not tether's venv.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

ETH_P_ALL, ETH_P_IP, ETH_P_ARP, ETH_P_8021Q = 0x0003, 0x0800, 0x0806, 0x8100
ETH_P_IPV6 = 0x86DD
PORT = 9999


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def udp_frame(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, tag: str) -> bytes:
    payload = tag.encode()
    udp = struct.pack("!HHHH", 40000, PORT, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                         socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP) + header + udp


def udp6_frame(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, tag: str) -> bytes:
    """An IPv6 UDP datagram (checksum left 0: it is captured before the stack checks it)."""
    payload = tag.encode()
    udp = struct.pack("!HHHH", 40000, PORT, 8 + len(payload), 0) + payload
    header = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64,
                         socket.inet_pton(socket.AF_INET6, src_ip),
                         socket.inet_pton(socket.AF_INET6, dst_ip))
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IPV6) + header + udp


def arp_frame(src_mac: str, sender_mac: str, sender_ip: str, target_ip: str) -> bytes:
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_P_IP, 6, 4, 1, mac_bytes(sender_mac),
                       socket.inet_aton(sender_ip), bytes(6), socket.inet_aton(target_ip))
    return b"\xff" * 6 + mac_bytes(src_mac) + struct.pack("!H", ETH_P_ARP) + body


def vlan_tagged(frame: bytes, vid: int = 7) -> bytes:
    """The same frame with an 802.1Q tag after the addresses."""
    return frame[:12] + struct.pack("!HH", ETH_P_8021Q, vid) + frame[12:]


def parse(frame: bytes) -> dict | None:
    src = frame[6:12].hex(":")
    if struct.unpack("!H", frame[12:14])[0] == ETH_P_8021Q:
        item = parse(frame[:12] + frame[16:])
        return item and {**item, "vlan": True}
    kind = struct.unpack("!H", frame[12:14])[0]
    if kind == ETH_P_IP and len(frame) >= 42 and frame[23] == 17:
        ihl = (frame[14] & 0xF) * 4
        dport = struct.unpack("!H", frame[14 + ihl + 2:14 + ihl + 4])[0]
        if dport == PORT:
            return {"kind": "udp", "mac": src, "ip": socket.inet_ntoa(frame[26:30]),
                    "tag": frame[14 + ihl + 8:].decode(errors="replace")}
    if kind == ETH_P_IPV6 and len(frame) >= 62 and frame[20] == 17:
        if struct.unpack("!H", frame[56:58])[0] == PORT:
            return {"kind": "udp", "mac": src, "ip": socket.inet_ntop(socket.AF_INET6, frame[22:38]),
                    "tag": frame[62:].decode(errors="replace")}
    if kind == ETH_P_ARP and len(frame) >= 42:
        return {"kind": "arp", "mac": src, "sha": frame[22:28].hex(":"),
                "ip": socket.inet_ntoa(frame[28:32])}
    return None


def listen(iface: str, seconds: float) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.1)
    print("ready", flush=True)
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        item = parse(frame)
        if item is not None:
            seen.append(item)
    print(json.dumps(seen), flush=True)


def send(iface: str, spec: list[dict]) -> None:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for f in spec:
        if f["kind"] == "udp6":
            frame = udp6_frame(f["mac"], f["dst_mac"], f["ip"], f["dst_ip"], f["tag"])
        elif f["kind"] == "udp":
            frame = udp_frame(f["mac"], f["dst_mac"], f["ip"], f["dst_ip"], f["tag"])
        else:
            frame = arp_frame(f["mac"], f.get("sha", f["mac"]), f["ip"], f["dst_ip"])
        if f.get("vlan"):
            frame = vlan_tagged(frame)
        for _ in range(3):
            s.send(frame)


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2], float(sys.argv[3]))
    else:
        send(sys.argv[2], json.loads(sys.argv[3]))
