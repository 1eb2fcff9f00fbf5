"""`docker container/image/system prune` and `docker tag` against tetherd."""

from __future__ import annotations

import docker
import pytest


def names(client, **kw) -> set[str]:
    return {c.name for c in client.containers.list(all=True, **kw)}


def test_container_prune_removes_stopped_containers_the_filters_match(
        docker_client, busybox_image):
    no = docker_client.containers.create("busybox:local", "true", name="pr_no",
                                         labels={"keep": "no"})
    docker_client.containers.run("busybox:local", "true", name="pr_yes",
                                 labels={"keep": "yes"})
    live = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                        name="pr_live", labels={"keep": "no"})
    try:
        gone = docker_client.containers.prune(filters={"label": "keep=no"})
        assert gone == {"ContainersDeleted": [no.id], "SpaceReclaimed": 0}
        assert names(docker_client) >= {"pr_yes", "pr_live"}
        assert "pr_no" not in names(docker_client)
        assert docker_client.containers.prune(filters={"label": "keep=no"}) == {
            "ContainersDeleted": None, "SpaceReclaimed": 0}
        assert docker_client.containers.prune()["ContainersDeleted"] and \
            "pr_yes" not in names(docker_client)
        assert "pr_live" in names(docker_client)  # running: never pruned
    finally:
        live.remove(force=True)


def test_tag_then_image_and_system_prune(daemon, docker_client, busybox_image):
    r = daemon.docker("tag", "busybox:local", "other:tagged")
    assert r.returncode == 0, r.stderr
    image = docker_client.images.get("other:tagged")  # the CLI sent docker.io/library/other
    assert "other:tagged" in image.tags and "busybox:local" in image.tags
    out = daemon.docker("run", "--rm", "other:tagged", "echo", "from-the-tag").stdout
    assert out.strip() == "from-the-tag"
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.tag("nope:x", "y", "z")
    c = docker_client.containers.create("busybox:local", "true")
    # in use by a container: dangling=false prune keeps it
    assert docker_client.images.prune(filters={"dangling": False})["ImagesDeleted"] is None
    docker_client.networks.create("pr_unused")
    r = daemon.docker("system", "prune", "-f")
    assert r.returncode == 0, r.stderr
    assert c.id in r.stdout and "pr_unused" in r.stdout
    assert not docker_client.containers.list(all=True)
    assert "pr_unused" not in [n.name for n in docker_client.networks.list()]
    docker_client.images.remove("other:tagged")
    assert docker_client.images.get("busybox:local").tags == ["busybox:local"]
