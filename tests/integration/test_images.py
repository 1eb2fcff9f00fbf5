"""Images through the docker CLI: import with --change, ls, inspect, rm (and in-use refusal)."""

import json

import pytest

pytestmark = pytest.mark.integration


def test_import_ls_inspect_rm(daemon, busybox_tarball):
    r = daemon.docker("import", "--change", 'CMD ["httpd", "-f", "-p", "80"]', "--change",
                      "EXPOSE 80", "--change", "ENV GREETING=hi", str(busybox_tarball),
                      "webimg:v1")
    assert r.returncode == 0, r.stderr
    image_id = r.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    ls = daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    assert f"webimg:v1 {image_id[7:19]}" in ls.splitlines()
    cfg = json.loads(daemon.docker("image", "inspect", "webimg:v1").stdout)[0]["Config"]
    assert cfg["Cmd"] == ["httpd", "-f", "-p", "80"] and "80/tcp" in cfg["ExposedPorts"]
    assert "GREETING=hi" in cfg["Env"]
    r = daemon.docker("run", "-d", "--name", "img_user", "webimg:v1")
    assert r.returncode == 0, r.stderr
    try:
        env = daemon.docker("exec", "img_user", "sh", "-c", "echo $GREETING").stdout
        assert env == "hi\n"
        r = daemon.docker("rmi", "webimg:v1")
        assert r.returncode == 1 and "must force" in r.stderr
    finally:
        daemon.docker("rm", "-f", "img_user")
    r = daemon.docker("rmi", "webimg:v1")
    assert r.returncode == 0, r.stderr
    assert "Untagged: webimg:v1" in r.stdout
    r = daemon.docker("image", "inspect", "webimg:v1")
    assert r.returncode == 1 and "No such image" in r.stderr
