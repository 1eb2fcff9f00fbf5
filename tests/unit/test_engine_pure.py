"""Pure parts of the engine: /etc files, names, references, commands, labels, MACs."""

import ipaddress

import pytest

from tether.engine import etcfiles
from tether.engine.containers import command_of, merged_env, parse_link
from tether.engine.endpoints import mac_for, next_ifname
from tether.engine.names import generate_name, validate_container_name
from tether.engine.networks import labels_match
from tether.engine.refs import lookup, resolve
from tether.errors import InvalidArgument, NotFound
from tether.model import ContainerSpec, Image


def test_hosts_file_matches_docker_layout():
    text = etcfiles.hosts_file(["172.17.0.3"], "myhost", extra_hosts=["extra.example:10.1.2.3"])
    assert text.splitlines() == [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
        "10.1.2.3\textra.example",
        "172.17.0.3\tmyhost",
    ]


def test_hosts_file_links_and_ipv6_extra_host():
    text = etcfiles.hosts_file(["172.17.0.4"], "f68015134f2f",
                               extra_hosts=["v6host:[fd00::5]"],
                               links=[("172.17.0.3", ["webalias", "7dc4eb3139ae", "linkweb"])])
    assert "fd00::5\tv6host\n" in text
    assert "172.17.0.3\twebalias 7dc4eb3139ae linkweb\n" in text
    assert text.endswith("172.17.0.4\tf68015134f2f\n")


def test_resolv_drops_loopback_and_falls_back():
    host = "nameserver 127.0.0.53\nnameserver 10.255.255.53\nsearch example.com\noptions edns0\n"
    assert etcfiles.resolv_file(host) == (
        "nameserver 10.255.255.53\nsearch example.com\noptions edns0\n")
    assert etcfiles.resolv_file("nameserver 127.0.0.1\n") == (
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\n")
    assert etcfiles.resolv_file(host, dns=["1.1.1.1"], dns_search=["corp"],
                                dns_options=["ndots:2"]) == (
        "nameserver 1.1.1.1\nsearch corp\noptions ndots:2\n")


@pytest.mark.parametrize("name", ["web", "/web", "a.b-c_d", "9lives"])
def test_valid_container_names(name):
    assert validate_container_name(name) == name.lstrip("/")


@pytest.mark.parametrize("name", ["", "-web", "we b", "web!", "_x"])
def test_invalid_container_names(name):
    with pytest.raises(InvalidArgument, match="Invalid container name"):
        validate_container_name(name)


def test_generated_names_avoid_taken():
    taken = set()
    for _ in range(200):
        name = generate_name(taken)
        assert name not in taken
        validate_container_name(name)
        taken.add(name)


def test_resolve_by_id_name_and_prefix():
    items = [("aaa111", "web"), ("aab222", "db")]
    kw = dict(id_of=lambda i: i[0], name_of=lambda i: i[1], kind="network",
              not_found="network {ref} not found")
    assert resolve("db", items, **kw) == items[1]
    assert resolve("aaa", items, **kw) == items[0]
    assert resolve("aab222", items, **kw) == items[1]
    with pytest.raises(InvalidArgument, match="2 matches found based on ID prefix: network aa is ambiguous"):
        resolve("aa", items, **kw)
    with pytest.raises(NotFound, match="network nosuch not found"):
        resolve("nosuch", items, **kw)


def test_lookup_prefers_id_then_name_then_unique_prefix():
    by_id = {"aaa111": "web-net", "aab222": "db-net", "db": "named-like-an-id"}
    names = {"web": "aaa111", "db": "aab222", "stale": "gone"}
    kw = dict(kind="network", not_found="network {ref} not found")
    assert lookup("db", by_id, names, **kw) == "named-like-an-id"  # a full id wins, as Docker
    assert lookup("web", by_id, names, **kw) == "web-net"
    assert lookup("aab", by_id, names, **kw) == "db-net"
    with pytest.raises(NotFound, match="network stale not found"):
        lookup("stale", by_id, names, **kw)  # an index entry without its object is no match
    with pytest.raises(InvalidArgument, match="2 matches found based on ID prefix"):
        lookup("aa", by_id, names, **kw)


def test_command_precedence():
    image = Image(id="sha256:x", repo_tags=(), created="", size=0, cmd=("sh",),
                  entrypoint=("/init",))
    assert command_of(ContainerSpec(image="i"), image) == ("/init", "sh")
    assert command_of(ContainerSpec(image="i", cmd=("ls",)), image) == ("/init", "ls")
    assert command_of(ContainerSpec(image="i", entrypoint=("top",)), image) == ("top",)


def test_env_merge_and_links():
    assert merged_env(("PATH=/bin", "A=1"), ("A=2", "B=3")) == ("PATH=/bin", "A=2", "B=3")
    assert parse_link("linkweb:webalias") == ("linkweb", "webalias")
    assert parse_link("/web0") == ("web0", "web0")
    assert parse_link("/linkweb:/linker/webalias") == ("linkweb", "webalias")


def test_label_filters():
    labels = {"env": "dev", "team": "net"}
    assert labels_match(labels, ["env"])
    assert labels_match(labels, ["env=dev", "team"])
    assert not labels_match(labels, ["env=prod"])
    assert not labels_match(labels, ["missing"])
    assert labels_match(labels, ["!env=prod"])


def test_mac_and_ifnames():
    assert mac_for(ipaddress.IPv4Interface("172.18.0.2/16")) == "02:42:ac:12:00:02"
    assert mac_for(None).startswith("02:42:")
    assert next_ifname(set()) == "eth0"
    assert next_ifname({"eth0", "eth2"}) == "eth1"
