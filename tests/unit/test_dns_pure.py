"""The resolver's pure parts: wire parsing and packing, the table and the lookup, links."""

from __future__ import annotations

import ipaddress
import struct

from tether.dns import records, wire
from tether.dns.forward import Cache, nameservers
from tether.engine import etcfiles, links
from tether.model import Container, ContainerSpec, Endpoint, EndpointRequest, Network


def query(name: str, qtype: int = wire.A, qid: int = 0x1234, edns: bool = False) -> bytes:
    head = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    body = wire.encode_name(name) + struct.pack("!HH", qtype, wire.IN)
    return head + body + (b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00" if edns else b"")


def net(nid: str, name: str, internal: bool = False) -> Network:
    return Network(id=nid, name=name, driver="bridge", created="", internal=internal)


def container(cid: str, name: str, eps: dict, links_=(), dns=()) -> Container:
    return Container(id=cid * 64, name=name, created="", spec=ContainerSpec(image="x", dns=dns),
                     image_id="", path="", args=(), env=(), hostname=cid * 12,
                     endpoints=eps, links=tuple(links_))


def ep(cid: str, nid: str, ip: str, aliases=(), ip6: str | None = None) -> Endpoint:
    return Endpoint(id="e" + cid, network_id=nid, container_id=cid, ifname="eth0", mac="",
                    request=EndpointRequest(aliases=tuple(aliases)),
                    ipv4=ipaddress.ip_interface(ip + "/16"),
                    ipv6=ipaddress.ip_interface(ip6 + "/64") if ip6 else None)


NETS = {"n1": net("n1", "front"), "n2": net("n2", "back"), "nb": net("nb", "bridge"),
        "ni": net("ni", "sealed", internal=True)}


def table() -> records.Table:
    return records.build([
        container("a", "web", {"n1": ep("a", "n1", "10.1.0.2", ["svc"], ip6="fd00::2")}),
        container("b", "web2", {"n1": ep("b", "n1", "10.1.0.3", ["svc"])}),
        container("c", "db", {"n2": ep("c", "n2", "10.2.0.2")}),
        container("d", "both", {"n1": ep("d", "n1", "10.1.0.4"), "n2": ep("d", "n2", "10.2.0.4")},
                  links_=[("db", "database")], dns=("192.0.2.53",)),
        container("e", "old", {"nb": ep("e", "nb", "172.17.0.2")}),
        container("f", "hermit", {"ni": ep("f", "ni", "10.9.0.2")}),
    ], NETS)


def addrs(rrs) -> list[str]:
    return sorted(str(ipaddress.ip_address(rr[12:])) for rr in rrs)


def test_parse_reads_name_type_and_edns():
    name, qtype, end, size, edns = wire.parse(query("Web.Front", wire.AAAA, edns=True))
    assert (name, qtype, end, size, edns) == (b"\x03web\x05front\x00", wire.AAAA, 12 + 11 + 4,
                                              4096, True)
    assert wire.parse(query("web"))[3:] == (512, False)


def test_parse_rejects_malformed_input():
    q = query("web")
    assert wire.parse(q[:11]) == wire.DROP  # no room for a header
    assert wire.parse(q[:2] + b"\x81" + q[3:]) == wire.DROP  # a response, not a query
    assert wire.parse(q[:2] + b"\x28" + q[3:]) == wire.NOTIMP  # opcode UPDATE
    assert wire.parse(q[:4] + b"\x00\x02" + q[6:]) == wire.FORMERR  # two questions
    assert wire.parse(q[:-3]) == wire.FORMERR  # question cut short
    assert wire.parse(q[:12] + b"\x05ab") == wire.FORMERR  # label runs past the end
    assert wire.parse(q[:12] + b"\x40abc\x00" + q[-4:]) == wire.FORMERR  # extended label type


def test_parse_refuses_oversized_names():
    big = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 octets
    assert wire.parse(query("x")[:12] + big + b"\x00\x01\x00\x01") == wire.FORMERR
    assert wire.encode_name("a" * 64) is None
    assert wire.encode_name(".".join(["a" * 63] * 4)) is None


def test_compression_pointers_loops_end_in_formerr():
    head = query("x")[:12]
    assert wire.parse(head + b"\xc0\x0c\x00\x01\x00\x01") == wire.FORMERR  # points at itself
    assert wire.parse(head + b"\x01a\xc0\x0c\x00\x01\x00\x01") == wire.FORMERR  # loop a->a
    assert wire.parse(head + b"\xc0") == wire.FORMERR
    # a legal pointer back to an earlier name is followed
    msg = head + b"\x03web\x00" + b"\x01x\xc0\x0c"
    end, name = wire._read_compressed(msg, 17)
    assert (end, name) == (len(msg), b"\x01x\x03web\x00")


def test_answer_copies_id_question_and_rd_and_truncates_with_tc():
    q = query("svc", qid=0xBEEF)
    _, _, end, size, edns = wire.parse(q)
    rrs = [wire.address_record(ipaddress.ip_address(f"10.0.{i // 250}.{i % 250}"), 5)
           for i in range(100)]
    out = wire.answer(q, end, wire.NOERROR, rrs, size, edns)
    assert out[:2] == b"\xbe\xef" and out[2] & 0x01 and out[2] & 0x80 and out[3] & 0x80
    assert out[2] & 0x02  # TC: 100 A records do not fit in 512 bytes
    assert len(out) <= 512 and out[12:end] == q[12:end]
    count = struct.unpack_from("!H", out, 6)[0]
    assert count == (512 - end) // 16
    assert wire.ttl_offsets(out) == [end + 16 * i + 6 for i in range(count)]


def test_lookup_answers_names_aliases_short_id_and_network_form():
    t = table()
    for name in (b"\x03web\x00", b"\x03web\x05front\x00", b"\x0caaaaaaaaaaaa\x00"):
        rcode, rrs = records.resolve(t, "b" * 64, name, wire.A)
        assert (rcode, addrs(rrs)) == (wire.NOERROR, ["10.1.0.2"])
    rcode, rrs = records.resolve(t, "b" * 64, b"\x03web\x00", wire.AAAA)
    assert addrs(rrs) == ["fd00::2"]
    assert records.resolve(t, "b" * 64, b"\x03web\x00", wire.MX) == (wire.NOERROR, ())


def test_alias_holders_all_answer_in_shuffled_order():
    t = table()
    seen = set()
    for _ in range(200):
        _, rrs = records.resolve(t, "a" * 64, b"\x03svc\x00", wire.A)
        assert addrs(rrs) == ["10.1.0.2", "10.1.0.3"]
        seen.add(rrs[0])
    assert len(seen) == 2


def test_lookup_is_scoped_to_the_askers_networks():
    t = table()
    assert records.resolve(t, "a" * 64, b"\x02db\x00", wire.A) == records.NO_SUCH
    assert records.resolve(t, "c" * 64, b"\x03web\x00", wire.A) == records.NO_SUCH
    rcode, rrs = records.resolve(t, "d" * 64, b"\x02db\x00", wire.A)
    assert addrs(rrs) == ["10.2.0.2"]
    # default bridge: no discovery at all, and its containers are no askers
    assert records.resolve(t, "a" * 64, b"\x03old\x00", wire.A) == records.NO_SUCH
    assert records.resolve(t, "e" * 64, b"\x03web\x00", wire.A) == records.REFUSE


def test_links_on_user_networks_are_private_aliases():
    t = table()
    _, rrs = records.resolve(t, "d" * 64, b"\x08database\x00", wire.A)
    assert addrs(rrs) == ["10.2.0.2"]
    assert records.resolve(t, "c" * 64, b"\x08database\x00", wire.A) == records.NO_SUCH


def test_ptr_names_container_dot_network():
    t = table()
    rcode, rrs = records.resolve(t, "b" * 64, wire.reverse_name(
        ipaddress.ip_address("10.1.0.2")), wire.PTR)
    assert rrs[0][12:] == wire.encode_name("web.front")
    assert records.resolve(t, "a" * 64, wire.reverse_name(ipaddress.ip_address("10.2.0.2")),
                           wire.PTR) == records.NO_SUCH


def test_unknown_names_forward_unless_single_label_or_internal():
    t = table()
    assert records.resolve(t, "a" * 64, b"\x07example\x03com\x00", wire.A) is None
    assert records.resolve(t, "a" * 64, b"\x07nothere\x00", wire.A) == records.NO_SUCH
    assert records.resolve(t, "f" * 64, b"\x07example\x03com\x00", wire.A) == records.CANNOT
    assert t.askers["d" * 64].upstreams == ("192.0.2.53",)


def test_cache_ages_ttls_and_skips_truncated_or_failed_answers():
    q = query("example.com")
    _, _, end, _, _ = wire.parse(q)
    rr = wire.address_record(ipaddress.ip_address("192.0.2.1"), 300)
    resp = wire.answer(q, end, wire.NOERROR, [rr], 512, False)
    cache = Cache()
    cache.put("k", resp)
    hit = cache.get("k", b"\x00\x07")
    assert hit[:2] == b"\x00\x07" and hit[2:] == resp[2:]
    cache.put("tc", resp[:2] + bytes((resp[2] | 2,)) + resp[3:])
    cache.put("sf", wire.servfail(q, end))
    assert cache.get("tc", b"\x00\x00") is None and cache.get("sf", b"\x00\x00") is None


def test_nameservers_skip_loopback():
    text = "nameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.1\nnameserver fd00::1\n"
    assert nameservers(text) == ("192.0.2.1", "fd00::1")


def test_embedded_resolv_conf_as_docker():
    assert etcfiles.embedded_resolv_file("nameserver 10.0.0.1\n") == (
        "nameserver 127.0.0.11\noptions ndots:0\n")
    assert etcfiles.embedded_resolv_file("search corp\n", ("a.b",), ("timeout:2",)) == (
        "nameserver 127.0.0.11\nsearch a.b\noptions ndots:0 timeout:2\n")
    assert etcfiles.embedded_resolv_file("", (), ("ndots:3",)) == (
        "nameserver 127.0.0.11\noptions ndots:3\n")


def test_link_env_vars_as_docker():
    target = Container(id="7dc4eb3139ae" + "0" * 52, name="linkweb", created="",
                       spec=ContainerSpec(image="x", exposed_ports=("80/tcp",)), image_id="",
                       path="", args=(), env=("PATH=/bin", "FOO=bar"), hostname="")
    assert links.env_vars("blissful_curie", "webalias", target, "172.17.0.3") == [
        "WEBALIAS_NAME=/blissful_curie/webalias",
        "WEBALIAS_PORT=tcp://172.17.0.3:80",
        "WEBALIAS_PORT_80_TCP=tcp://172.17.0.3:80",
        "WEBALIAS_PORT_80_TCP_ADDR=172.17.0.3",
        "WEBALIAS_PORT_80_TCP_PORT=80",
        "WEBALIAS_PORT_80_TCP_PROTO=tcp",
        "WEBALIAS_ENV_FOO=bar",
    ]
    assert links.hosts_entries([("webalias", target, "172.17.0.3")]) == [
        ("172.17.0.3", ["webalias", "7dc4eb3139ae", "linkweb"])]


def norm(names) -> dict:
    """Names with their records sorted: holders of a shared alias may come in any order."""
    return {n: {k: (sorted(a), sorted(b)) for k, (a, b) in d.items()} for n, d in names.items()}


def test_records_change_one_container_at_a_time_like_a_rebuild():
    from dataclasses import replace

    a = container("a", "web", {"n1": ep("a", "n1", "10.1.0.2", ["svc"])})
    b = container("b", "web2", {"n1": ep("b", "n1", "10.1.0.3", ["svc"])})
    d = container("d", "both", {"n1": ep("d", "n1", "10.1.0.4")}, links_=[("web2", "pal")])
    recs = records.Records()
    for c in (a, b, d):
        recs.put(c, NETS)
    moved = replace(b, endpoints={"n1": ep("b", "n1", "10.1.0.9", ["svc"])})
    renamed = replace(a, name="web9")
    recs.put(moved, NETS)
    recs.put(renamed, NETS)
    want = records.build([renamed, moved, d], NETS)
    assert norm(recs.table.names) == norm(want.names) and recs.table.ptrs == want.ptrs
    assert dict(recs.table.known) == dict(want.known) and recs.table.askers == want.askers
    assert records.resolve(recs.table, d.id, b"\x03web\x00", wire.A) == records.NO_SUCH
    _, rrs = records.resolve(recs.table, d.id, b"\x04web9\x00", wire.A)
    assert addrs(rrs) == ["10.1.0.2"]
    _, rrs = records.resolve(recs.table, d.id, b"\x03pal\x00", wire.A)
    assert addrs(rrs) == ["10.1.0.9"]  # the link follows its target's new address
    recs.remove(b.id, NETS)
    assert records.resolve(recs.table, d.id, b"\x03pal\x00", wire.A) == records.NO_SUCH
    _, rrs = records.resolve(recs.table, d.id, b"\x03svc\x00", wire.A)
    assert addrs(rrs) == ["10.1.0.2"]
    recs.remove(a.id, NETS)
    assert records.resolve(recs.table, d.id, b"\x03svc\x00", wire.A) == records.NO_SUCH
    assert dict(recs.table.known) == dict(records.build([d], NETS).known)
