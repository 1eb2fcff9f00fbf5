"""Pure helpers of the CLI: what it prints, tested without a daemon."""


def test_port_lines_as_docker_prints_them():
    from tether.cli.listing import port_lines

    ports = {"81/udp": [{"HostIp": "0.0.0.0", "HostPort": "8094"}],
             "443/tcp": None,
             "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8093"},
                        {"HostIp": "::", "HostPort": "8093"}]}
    assert port_lines(ports, None) == ["80/tcp -> 127.0.0.1:8093", "80/tcp -> [::]:8093",
                                       "81/udp -> 0.0.0.0:8094"]
    assert port_lines(ports, "80") == ["127.0.0.1:8093", "[::]:8093"]
    assert port_lines(ports, "81/udp") == ["0.0.0.0:8094"]
    assert port_lines(ports, "443") is None and port_lines(ports, "81") is None
