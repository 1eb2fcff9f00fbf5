"""Renderers against what dockerd shows for the same objects (transcripts.md), by API version."""

import dataclasses

from tether.api.schema_inspect import render_container
from tether.model import EndpointRequest

from test_api_schema import NET_ID, my_net, psql_view


def networks_of(view, version):
    return render_container(view, version, "/x")["NetworkSettings"]["Networks"]


def with_network(view, **changes):
    net = dataclasses.replace(my_net(), **changes)
    return dataclasses.replace(view, networks={NET_ID: net})


def test_api_145_aliases_are_what_the_client_sent_and_dns_names_hold_the_rest():
    """From API 1.45 the short id left Aliases (null when the client sent none)."""
    view = psql_view()
    ep = networks_of(view, (1, 50))["my_isolated_bridge_network"]
    short = view.container.short_id
    assert ep["Aliases"] is None and ep["DNSNames"] == ["my_psql_db", short]
    assert networks_of(view, (1, 44))["my_isolated_bridge_network"]["Aliases"] == [short]
    c = view.container
    ep0 = c.endpoints[NET_ID]
    aliased = dataclasses.replace(ep0, request=EndpointRequest(aliases=("search",)))
    view = dataclasses.replace(view, container=dataclasses.replace(
        c, endpoints={NET_ID: aliased}, hostname="zzhost"))
    ep = networks_of(view, (1, 50))["my_isolated_bridge_network"]
    assert ep["Aliases"] == ["search"]
    assert ep["DNSNames"] == ["my_psql_db", "search", short, "zzhost"]
    assert networks_of(view, (1, 41))["my_isolated_bridge_network"]["Aliases"] == [
        "search", short, "zzhost"]


def test_none_and_host_endpoints_have_no_aliases_or_dns_names():
    """Transcript §8: nonebox's `none` entry has Aliases null and DNSNames null."""
    for name, driver in (("none", "null"), ("host", "host"), ("bridge", "bridge")):
        view = with_network(psql_view(), name=name, driver=driver)
        for version in ((1, 41), (1, 44), (1, 50)):
            ep = networks_of(view, version)[name]
            assert ep["Aliases"] is None, (name, version)
            assert ep.get("DNSNames") is None, (name, version)


def test_cli_leaves_a_lone_bad_subnet_to_the_daemon_and_words_a_paired_one_like_docker():
    """docker parses --subnet only to pair it with a gateway/range/aux address or another
    subnet; alone it goes to the daemon, which answers with its own sentence (§12)."""
    import pytest

    from tether.client.network_body import IPAMRequest, ipam_config
    from tether.errors import InvalidArgument

    assert ipam_config(IPAMRequest(subnets=("10.50.0.300/24",))) == [
        {"Subnet": "10.50.0.300/24"}]
    with pytest.raises(InvalidArgument) as err:
        ipam_config(IPAMRequest(subnets=("10.50.0.300/24",), gateways=("10.50.0.1",)))
    assert str(err.value) == "invalid subnet: invalid CIDR address: 10.50.0.300/24"
