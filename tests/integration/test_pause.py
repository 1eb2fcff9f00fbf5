"""`docker pause` / `unpause`: processes freeze and thaw, the network stays, and stop, kill
and rm still end a paused container."""

from __future__ import annotations

import docker
import pytest


def test_a_paused_container_stops_answering_and_keeps_its_address(
        daemon, docker_client, busybox_image):
    net = docker_client.networks.create("pause_net")
    server = docker_client.containers.run("busybox:local", "httpd -f -p 80 -h /",
                                          detach=True, network="pause_net", name="pz_srv")
    client = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                          network="pause_net", name="pz_cli")
    try:
        def fetch() -> int:  # nc answers only while httpd can run
            return client.exec_run("sh -c 'echo GET / | timeout 2 nc pz_srv 80'").exit_code

        assert fetch() == 0
        server.pause()
        server.reload()
        assert server.status == "paused"
        assert server.attrs["State"]["Paused"] is True and server.attrs["State"]["Running"]
        assert fetch() != 0  # frozen: the SYN is queued, no answer comes
        assert [c.name for c in docker_client.containers.list(
            filters={"status": "paused"})] == ["pz_srv"]
        with pytest.raises(docker.errors.APIError) as err:
            server.pause()
        assert err.value.status_code == 409
        with pytest.raises(docker.errors.APIError) as err:
            server.exec_run("true")
        assert err.value.status_code == 409
        ps = daemon.docker("ps", "--filter", "name=pz_srv", "--format", "{{.Status}}").stdout
        assert ps.strip().endswith("(Paused)")
        server.unpause()
        server.reload()
        assert server.status == "running" and server.attrs["State"]["Paused"] is False
        assert fetch() == 0
        with pytest.raises(docker.errors.APIError) as err:
            server.unpause()
        assert err.value.status_code == 409
        server.pause()
        server.stop(timeout=1)  # SIGTERM is delivered once thawed, as in dockerd
        server.reload()
        assert server.status == "exited" and server.attrs["State"]["Paused"] is False
        server.start()
        server.pause()
        server.remove(force=True)
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.api.pause("pz_nope")
        assert err.value.status_code == 404
    finally:
        for c in docker_client.containers.list(all=True):
            c.remove(force=True)
        net.remove()
