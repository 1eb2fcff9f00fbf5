"""Binds, volumes and tmpfs mounts through docker-py: what the container sees, what inspect
says, what is left on the host after removal, and the refusals dockerd gives."""

from __future__ import annotations

import os

import docker
import pytest
from docker.types import Mount


def run(client, *args, **kwargs):
    return client.containers.run("busybox:local", *args, detach=True, **kwargs)


def output(client, command, **kwargs) -> str:
    return client.containers.run("busybox:local", command, remove=True, **kwargs).decode()


def test_a_bind_mount_serves_host_files_and_read_only_refuses_writes(
        daemon, docker_client, busybox_image, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("from the host\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    c = run(docker_client, "httpd -f -p 80 -h /www",
            volumes=[f"{www}:/www:ro", f"{shared}:/shared"])
    try:
        c.reload()
        ip = c.attrs["NetworkSettings"]["IPAddress"]
        got = output(docker_client, f"timeout 5 wget -qO- http://{ip}/")  # wget -T segfaults
        assert got == "from the host\n"  # over the bridge, from the bind-mounted directory
        code, out = c.exec_run("sh -c 'echo x > /www/new'")
        assert code != 0 and b"Read-only file system" in out
        assert not (www / "new").exists()
        assert c.exec_run("sh -c 'echo written > /shared/f'").exit_code == 0
        assert (shared / "f").read_text() == "written\n"
        assert c.attrs["HostConfig"]["Binds"] == [f"{www}:/www:ro", f"{shared}:/shared"]
        by_dest = {m["Destination"]: m for m in c.attrs["Mounts"]}
        assert by_dest["/www"] == {"Type": "bind", "Source": str(www), "Destination": "/www",
                                   "Mode": "ro", "RW": False, "Propagation": "rprivate"}
        assert by_dest["/shared"]["RW"] is True
        [listed] = docker_client.api.containers(filters={"id": c.id})
        assert listed["Mounts"] == c.attrs["Mounts"]  # `docker ps` shows the same mounts
    finally:
        c.remove(force=True)
    assert (www / "index.html").read_text() == "from the host\n"  # removal leaves host files


def test_a_missing_v_directory_is_made_and_a_missing_mount_source_refused(
        docker_client, busybox_image, tmp_path):
    made = tmp_path / "made" / "here"
    assert output(docker_client, "ls -d /x", volumes=[f"{made}:/x"]).strip() == "/x"
    assert made.is_dir()
    before = {c.id for c in docker_client.containers.list(all=True)}
    with pytest.raises(docker.errors.APIError) as err:
        docker_client.containers.create("busybox:local", "true", mounts=[
            Mount("/x", str(tmp_path / "nope"), type="bind")])
    assert err.value.status_code == 400
    assert err.value.explanation == ('invalid mount config for type "bind": bind source path '
                                     f"does not exist: {tmp_path / 'nope'}")
    assert {c.id for c in docker_client.containers.list(all=True)} == before


@pytest.mark.parametrize("binds, sentence", [
    (["/a:/b:bogus"], "invalid volume specification: '/a:/b:bogus': invalid mode: bogus"),
    (["/a:relative"], "mount path must be absolute"),
    (["/a:/same", "/c:/same"], "Duplicate mount point: /same"),
    (["bad/name:/x"], "includes invalid characters for a local volume name"),
    (["/a:/"], "destination can't be '/'"),
])
def test_bad_mount_specs_are_refused_with_docker_sentences(
        daemon, busybox_image, binds, sentence):
    r = daemon.api("POST", "/containers/create", {
        "Image": "busybox:local", "Cmd": ["true"], "HostConfig": {"Binds": binds}})
    assert r.status == 400, r.body
    assert sentence in r.json()["message"]


def test_a_named_volume_outlives_its_containers_and_an_anonymous_one_goes_with_its_last(
        daemon, docker_client, busybox_image):
    volumes = os.path.join(daemon.data_root, "volumes")
    output(docker_client, "sh -c 'echo kept > /data/f'", volumes=["keepme:/data"])
    assert output(docker_client, "cat /data/f", volumes=["keepme:/data"]) == "kept\n"
    assert os.path.isdir(os.path.join(volumes, "keepme", "_data"))

    first = run(docker_client, "sh -c 'echo mine > /anon/f; sleep 600'",
                mounts=[Mount("/anon", None, type="volume")])
    first.reload()
    [mount] = first.attrs["Mounts"]
    assert mount["Type"] == "volume" and mount["Destination"] == "/anon"
    name = mount["Name"]
    assert mount["Source"] == os.path.join(volumes, name, "_data")
    # a recreated compose service mounts the old container's anonymous volume by name
    second = run(docker_client, "sleep 600", volumes=[f"{name}:/anon"])
    try:
        assert second.exec_run("cat /anon/f").output == b"mine\n"
        first.remove(force=True)
        assert os.path.isdir(os.path.join(volumes, name)), "still mounted by the second"
    finally:
        second.remove(force=True)
    assert not os.path.exists(os.path.join(volumes, name))
    assert os.path.isdir(os.path.join(volumes, "keepme", "_data"))
    docker_client.volumes.get("keepme").remove()
    assert not os.path.exists(os.path.join(volumes, "keepme"))


def test_tmpfs_mounts_get_dockers_options_and_a_bind_can_replace_etc_hosts(
        docker_client, busybox_image, tmp_path):
    mounts = output(docker_client, "cat /proc/mounts", tmpfs={"/scratch": "size=1m"},
                    mounts=[Mount("/t", None, type="tmpfs", tmpfs_size=65536)])
    scratch = next(line for line in mounts.splitlines() if " /scratch " in line)
    t = next(line for line in mounts.splitlines() if " /t " in line)
    for line, size in ((scratch, "size=1024k"), (t, "size=64k")):
        options = line.split()[3].split(",")
        assert {"nosuid", "nodev", "noexec", size} <= set(options), line
    hosts = tmp_path / "hosts"
    hosts.write_text("10.9.9.9 pinned\n")
    assert output(docker_client, "cat /etc/hosts",
                  volumes=[f"{hosts}:/etc/hosts:ro"]) == "10.9.9.9 pinned\n"


def test_tethers_cli_sends_v_and_tmpfs_as_docker_does(daemon, busybox_image, tmp_path):
    (tmp_path / "f").write_text("via the tether CLI\n")
    r = daemon.cli("run", "--rm", "-v", f"{tmp_path}:/d:ro", "-v", "/anon", "--tmpfs",
                   "/t:size=1m", "busybox:local", "sh", "-c",
                   "cat /d/f; grep ' /t ' /proc/mounts; touch /anon/ok && echo anon-ok")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "via the tether CLI"
    assert "size=1024k" in lines[1] and "noexec" in lines[1]
    assert lines[2] == "anon-ok"


def test_the_volumes_api_creates_lists_refuses_removal_in_use_and_prunes(
        daemon, docker_client, busybox_image):
    v = docker_client.volumes.create("apivol", labels={"tier": "db"})
    assert v.attrs["Driver"] == "local" and v.attrs["Labels"] == {"tier": "db"}
    assert v.attrs["Mountpoint"] == os.path.join(daemon.data_root, "volumes", "apivol", "_data")
    assert docker_client.volumes.create("apivol").attrs["Labels"] == {"tier": "db"}  # as is
    with pytest.raises(docker.errors.NotFound) as err:
        docker_client.volumes.get("missing")
    assert err.value.explanation == "get missing: no such volume"
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.create("x1", driver="nosuch")
    c = run(docker_client, "sh -c 'echo hi > /v/f; sleep 600'", volumes=["apivol:/v"])
    try:
        with pytest.raises(docker.errors.APIError) as err:
            v.remove()
        assert err.value.status_code == 409
        assert err.value.explanation == f"remove apivol: volume is in use - [{c.id}]"
        assert "apivol" not in [x.name for x in docker_client.volumes.list(
            filters={"dangling": True})]
        assert [x.name for x in docker_client.volumes.list(filters={"label": "tier=db"})] \
            == ["apivol"]
    finally:
        c.remove(force=True)
    anon = docker_client.volumes.create()  # no name: tether names it, and prune takes it
    assert len(anon.name) == 64
    pruned = docker_client.volumes.prune()["VolumesDeleted"]
    assert pruned == [anon.name]  # API 1.42+: anonymous volumes only
    assert docker_client.volumes.prune(filters={"all": True})["VolumesDeleted"] == ["apivol"]
    assert not os.path.exists(os.path.join(daemon.data_root, "volumes", "apivol"))
    docker_client.volumes.create("gone").remove()
    assert [x.name for x in docker_client.volumes.list()] == []
