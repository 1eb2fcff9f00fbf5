"""The OCI config runc gets, as a pure function of the container."""

import pytest

from tether.errors import InvalidArgument
from tether.errors import KernelError
from tether.runtime.bundle import (JOINED_NETNS, BundleInputs, bundle_config, capabilities,
                                   with_network)
from tether.runtime.runc import start_error
from tether.runtime.cgroups import hierarchies


def _inputs(**kw):
    base = dict(cid="c" * 64, rootfs="/run/t/rootfs", lower="/i/rootfs", upper="/d/upper",
                work="/d/work", hosts="/d/hosts", resolv="/d/resolv.conf",
                hostname_file="/d/hostname", args=("sh", "-c", "true"), env=("PATH=/bin",),
                cwd="/srv", hostname="box", netns_path="/run/tether/netns/abc")
    return BundleInputs(**{**base, **kw})


def test_process_and_root():
    cfg = bundle_config(_inputs(uid=33, gid=34))
    proc = cfg["process"]
    assert proc["args"] == ["sh", "-c", "true"] and proc["env"] == ["PATH=/bin"]
    assert proc["cwd"] == "/srv" and proc["user"] == {"uid": 33, "gid": 34}
    assert proc["terminal"] is False
    assert cfg["root"] == {"path": "/run/t/rootfs", "readonly": False}
    assert cfg["hostname"] == "box"
    assert "seccomp" not in cfg["linux"]


def test_namespaces_join_the_sandbox():
    spaces = bundle_config(_inputs())["linux"]["namespaces"]
    assert {"type": "network", "path": JOINED_NETNS} in spaces
    assert {s["type"] for s in spaces} == {"pid", "ipc", "uts", "mount", "network"}


def test_host_network_shares_net_and_uts():
    cfg = bundle_config(_inputs(netns_path=None))
    assert {s["type"] for s in cfg["linux"]["namespaces"]} == {"pid", "ipc", "mount"}
    assert "hostname" not in cfg


def test_with_network_sets_the_path_at_start():
    cfg = with_network(bundle_config(_inputs(netns_path=None)), "/ns/x", "h2")
    assert {"type": "network", "path": JOINED_NETNS} in cfg["linux"]["namespaces"]
    assert cfg["hostname"] == "h2"


def test_the_rootfs_overlay_is_the_first_mount_and_made_in_the_container():
    cfg = bundle_config(_inputs())
    assert cfg["mounts"][0] == {
        "destination": "/", "type": "overlay", "source": "overlay",
        "options": ["lowerdir=/i/rootfs,upperdir=/d/upper,workdir=/d/work"]}
    assert cfg["root"]["path"] == "/run/t/rootfs"
    with pytest.raises(KernelError):
        bundle_config(_inputs(upper="/d/a,b"))


def test_start_errors_are_classed_as_docker_does():
    bad = start_error('runc run failed: unable to start container process: exec: "nosuch": '
                      "executable file not found in $PATH")
    assert bad.status == 400 and str(bad) == (
        'OCI runtime create failed: unable to start container process: exec: "nosuch": '
        "executable file not found in $PATH: unknown")
    denied = start_error('runc run failed: unable to start container process: exec: "/etc": '
                         "permission denied")
    assert denied.status == 400
    other = start_error("runc run failed: unable to apply cgroup configuration: no space")
    assert other.status == 500 and "cgroup" in str(other)


def test_etc_files_are_bind_mounted():
    mounts = {m["destination"]: m for m in bundle_config(_inputs())["mounts"]}
    assert mounts["/etc/hosts"]["source"] == "/d/hosts"
    assert mounts["/etc/resolv.conf"]["source"] == "/d/resolv.conf"
    assert mounts["/etc/hostname"]["source"] == "/d/hostname"
    assert all(mounts[p]["type"] == "bind" for p in ("/etc/hosts", "/etc/resolv.conf"))
    assert {"/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"} <= set(mounts)
    assert "ro" in mounts["/sys"]["options"]


def test_capabilities():
    caps = bundle_config(_inputs())["process"]["capabilities"]["bounding"]
    assert "CAP_NET_RAW" in caps and "CAP_NET_BIND_SERVICE" in caps
    assert "CAP_NET_ADMIN" not in caps and "CAP_SYS_ADMIN" not in caps
    assert "CAP_NET_ADMIN" in capabilities(False, ("NET_ADMIN",))
    assert "CAP_NET_ADMIN" in capabilities(False, ("cap_net_admin",))
    priv = bundle_config(_inputs(privileged=True))
    assert "CAP_SYS_ADMIN" in priv["process"]["capabilities"]["effective"]
    assert "maskedPaths" not in priv["linux"]
    with pytest.raises(InvalidArgument):
        capabilities(False, ("FLY",))


def test_cgroup_path_is_tagged():
    assert bundle_config(_inputs())["linux"]["cgroupsPath"] == "/tether/" + "c" * 64


def test_cgroup_hierarchies_from_mountinfo():
    info = ("35 25 0:30 / /sys/fs/cgroup/pids rw,nosuid shared:14 - cgroup cgroup rw,pids\n"
            "36 25 0:31 / /sys/fs/cgroup/unified rw shared:15 - cgroup2 cgroup2 rw\n"
            "37 25 0:32 / /proc rw - proc proc rw\n")
    assert hierarchies(info) == ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified"]
