"""`tether port` prints what `docker port` prints, against the same daemon."""

import pytest

pytestmark = pytest.mark.integration


def test_tether_port_matches_docker_port(daemon, busybox_image):
    r = daemon.docker("run", "-d", "--name", "portcli", "-p", "127.0.0.1:8093:80",
                      "-p", "8094:81/udp", "busybox:local", "sleep", "600")
    assert r.returncode == 0, r.stderr
    try:
        for args in (("portcli",), ("portcli", "80"), ("portcli", "81/udp")):
            mine, theirs = daemon.cli("port", *args), daemon.docker("port", *args)
            assert mine.returncode == theirs.returncode == 0, mine.stderr
            assert mine.stdout.splitlines()[:1] == theirs.stdout.splitlines()[:1]
        assert daemon.cli("port", "portcli", "80").stdout.startswith("127.0.0.1:8093")
        missing, docker_missing = (daemon.cli("port", "portcli", "82"),
                                   daemon.docker("port", "portcli", "82"))
        assert missing.returncode == docker_missing.returncode == 1
        assert missing.stderr.strip() == docker_missing.stderr.strip()
    finally:
        daemon.docker("rm", "-f", "portcli")
