"""Table, human time, --format templates and inspect output, as docker CLI 28 prints them."""

import pytest

from tether.cli.network import DEFAULT_LS
from tether.cli.render import format_list, inspect_output, tabwrite
from tether.cli.template import parse, render
from tether.client.views import (
    CONTAINER_HEADERS, NETWORK_HEADERS, container_row, human_duration, network_row, ports_text,
)
from tether.errors import InvalidArgument

NETS = [
    {"Name": "bridge", "Id": "48d12737d427974d3992b2dcdb5a4ab2984900997275c494df4db2a9c750ff83",
     "Driver": "bridge", "Scope": "local", "Labels": {}},
    {"Name": "host", "Id": "5ee307eea3395ae156712b57a59425176d762ecd1518533a22c3a86a36c1bed4",
     "Driver": "host", "Scope": "local", "Labels": {}},
    {"Name": "my_isolated_bridge_network", "Driver": "bridge", "Scope": "local",
     "Id": "0114f95d9da010e3e135d81a0c3fa4c47a22900f3290a35e38c8ccc991369dc8", "Labels": {}},
    {"Name": "opts_net", "Driver": "bridge", "Scope": "local", "EnableIPv6": False,
     "Id": "94e154ca8ce8aaaabbbbccccddddeeeeffff00001111222233334444555566667",
     "Created": "2026-11-28T03:01:06.129890843Z", "Labels": {"team": "net", "env": "dev"}},
]


def test_network_ls_table_is_dockers():
    out = format_list(None, [network_row(n) for n in NETS[:3]], NETWORK_HEADERS, DEFAULT_LS)
    assert out == (
        "NETWORK ID     NAME                         DRIVER    SCOPE\n"
        "48d12737d427   bridge                       bridge    local\n"
        "5ee307eea339   host                         host      local\n"
        "0114f95d9da0   my_isolated_bridge_network   bridge    local\n")


def test_network_ls_no_trunc_and_narrow_names():
    out = format_list(None, [network_row(n, trunc=False) for n in NETS[:1]], NETWORK_HEADERS,
                      DEFAULT_LS)
    assert out.splitlines()[0] == ("NETWORK ID" + " " * 57 + "NAME      DRIVER    SCOPE")


def test_network_ls_format_fields():
    fmt = "{{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Labels}} {{.Internal}} {{.IPv6}} " \
          "{{.CreatedAt}}"
    out = format_list(fmt, [network_row(NETS[3])], NETWORK_HEADERS, DEFAULT_LS)
    assert out == ("94e154ca8ce8 opts_net bridge local env=dev,team=net false false "
                   "2026-11-28 03:01:06.129890843 +0000 UTC\n")


def test_ps_table_format_with_escaped_tabs():
    rows = [container_row({"Names": ["/pubweb"], "Ports": [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}],
        "NetworkSettings": {"Networks": {"my_isolated_bridge_network": {}}}}),
        container_row({"Names": ["/hub"], "Ports": [],
                       "NetworkSettings": {"Networks": {"my_isolated_bridge_network": {}}}})]
    out = format_list(r"table {{.Names}}\t{{.Networks}}\t{{.Ports}}", rows, CONTAINER_HEADERS,
                      "")
    assert out == ("NAMES     NETWORKS                     PORTS\n"
                   "pubweb    my_isolated_bridge_network   0.0.0.0:8080->80/tcp, [::]:8080->80/tcp\n"
                   "hub       my_isolated_bridge_network   \n")


def test_ps_created_column_is_human_time():
    row = container_row({"Created": 1000, "Command": "httpd -f -p 80 -h /var/www",
                         "Status": "Exited (0) 5 seconds ago"}, now=1075)
    assert row["RunningFor"] == "About a minute ago"
    assert row["Command"] == '"httpd -f -p 80 -h /…"'
    assert row["Status"] == "Exited (0) 5 seconds ago"


@pytest.mark.parametrize("seconds, text", [
    (0.5, "Less than a second"), (1, "1 second"), (3, "3 seconds"), (59, "59 seconds"),
    (60, "About a minute"), (150, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (5 * 3600, "5 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
    (90 * 86400, "3 months"), (800 * 86400, "2 years"),
])
def test_human_duration_matches_go_units(seconds, text):
    assert human_duration(seconds) == text


def test_ports_text_unpublished_and_published():
    assert ports_text([{"PrivatePort": 7000, "Type": "tcp"}]) == "7000/tcp"


def test_inspect_is_json_array_indented_by_four():
    out = inspect_output([{"Name": "none", "IPAM": {"Config": []}, "Labels": {}}], None)
    assert out == ('[\n    {\n        "Name": "none",\n        "IPAM": {\n'
                   '            "Config": []\n        },\n        "Labels": {}\n    }\n]\n')


NET = {"Name": "v6net", "Id": "0123456789abcdef0123", "Options": {},
       "IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]},
       "Containers": {"b": {"Name": "v6b", "IPv4Address": "172.18.0.3/16"},
                      "a": {"Name": "v6a", "IPv4Address": "172.18.0.2/16"}}}


@pytest.mark.parametrize("tmpl, text", [
    ("{{.Name}}", "v6net"),
    ("{{json .IPAM.Config}}", '[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]'),
    ("{{range .Containers}}{{.Name}} {{.IPv4Address}} | {{end}}",
     "v6a 172.18.0.2/16 | v6b 172.18.0.3/16 | "),
    ("{{range $k,$v := .Containers}}{{$k}}={{$v.Name}} {{end}}", "a=v6a b=v6b "),
    ('br-{{printf "%.12s" .Id}}', "br-0123456789ab"),
    ("{{.Options}} {{.Nope}}", "map[] <no value>"),
    ("{{if .Options}}x{{else}}empty{{end}}", "empty"),
    ("{{range .IPAM.Config}}{{.Subnet}} {{end}}", "172.18.0.0/16 "),
    ("{{.Name | upper}}", "V6NET"),
])
def test_template_subset(tmpl, text):
    assert render(parse(tmpl), NET) == text


def test_template_rejects_unknown_functions_and_bad_blocks():
    with pytest.raises(InvalidArgument):
        render(parse("{{system .Name}}"), NET)
    with pytest.raises(InvalidArgument):
        parse("{{range .Containers}}")
    with pytest.raises(InvalidArgument):
        render(parse("{{.Name.Deeper}}"), NET)


def test_tabwrite_keeps_last_cell_unpadded():
    assert tabwrite(["a\tb", "ccc\td"]) == "a         b\nccc       d\n"
