"""The runc runtime on real containers: exit codes, logs, exec, stop, adoption, cleanup.

Runs in the test session's private namespaces; each test gets its own data/exec roots and a
network namespace file, and checks that nothing (mount, runc state, cgroup, monitor) remains.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

import pytest

from tether.errors import InvalidArgument
from tether.model import Container, ContainerSpec, ExecSpec
from tether.runtime import ImageStore, Runtime


async def _chunks(path):
    with open(path, "rb") as f:
        while data := f.read(1 << 20):
            yield data


class Box:
    """A runtime, the busybox image and a netns; remembers containers to remove them."""

    def __init__(self, root, image, store, netns):
        self.root, self.image, self.store, self.netns = root, image, store, netns
        self.rt = Runtime(str(root / "data"), str(root / "exec"))
        self.cids: list[str] = []

    async def run(self, *cmd, cid_char="a", **spec) -> Container:
        cid = (cid_char * 64)[:64]
        c = Container(id=cid, name=cid[:8], created="", image_id=self.image.id,
                      spec=ContainerSpec(image="busybox:local", **spec), path=cmd[0],
                      args=tuple(cmd[1:]), env=self.image.env, hostname="box-" + cid[:4])
        self.cids.append(cid)
        with open(self.rt.hosts_path(cid), "w") as f:
            f.write("127.0.0.1\tlocalhost\n10.1.2.3\tbox\n")
        await self.rt.prepare(c, self.image)
        await self.rt.start(c, self.netns)
        return c


def _mounts_under(path) -> list[str]:
    with open("/proc/self/mounts") as f:
        return [line for line in f if str(path) in line]


@pytest.fixture
async def box(tmp_path, busybox_tarball):
    store = ImageStore(str(tmp_path / "data"))
    image = await store.import_tarball(_chunks(busybox_tarball), repo_tags=("busybox:local",),
                                       changes=['CMD ["sh"]'])
    netns = tmp_path / "netns"
    netns.touch()
    subprocess.run(["unshare", f"--net={netns}", "true"], check=True)
    b = Box(tmp_path, image, store, str(netns))
    yield b
    for cid in b.cids:
        if (await b.rt.state(cid))[0]:
            await b.rt.kill(cid, "KILL")
            await b.rt.wait_exit(cid)
        await b.rt.remove(cid)
        assert not any(os.path.isdir(f"/sys/fs/cgroup/{h}/tether/{cid}")
                       for h in os.listdir("/sys/fs/cgroup"))
    await b.rt.close()
    for _ in range(100):  # it follows nothing and nobody is connected: it exits
        if not _processes_naming(str(tmp_path / "exec")):
            break
        await asyncio.sleep(0.05)
    assert not _processes_naming(str(tmp_path / "exec")), "the monitor stayed"
    subprocess.run(["umount", str(netns)], check=True)
    assert _mounts_under(tmp_path) == []
    runc_state = tmp_path / "exec" / "runc"
    assert not runc_state.exists() or os.listdir(runc_state) == []


async def _logs(rt, cid, **kw):
    return [item async for item in rt.logs(cid, **kw)]


async def test_exit_code_and_logs(box):
    c = await box.run("sh", "-c", "echo hi; echo err >&2; exit 3")
    assert await box.rt.wait_exit(c.id) == 3
    assert not (box.root / "exec" / "runc" / c.id).exists()  # deleted before the exit code
    assert await _logs(box.rt, c.id) == [(1, b"hi\n"), (2, b"err\n")]
    assert await _logs(box.rt, c.id, stderr=False) == [(1, b"hi\n")]
    await box.rt.cleanup(c.id)
    await box.rt.cleanup(c.id)  # idempotent
    assert not any("rootfs" in m for m in _mounts_under(box.root))


async def test_follow_ends_at_exit_and_tail(box):
    c = await box.run("sh", "-c", "echo a; sleep 0.3; echo b; echo c")
    got = await asyncio.wait_for(_logs(box.rt, c.id, follow=True, stderr=False), 10)
    assert b"".join(d for _, d in got) == b"a\nb\nc\n"
    assert await _logs(box.rt, c.id, tail=1) == [(1, b"c\n")]


async def test_exec_in_a_running_container_then_stop(box):
    c = await box.run("sleep", "1000")
    running, pid = await box.rt.state(c.id)
    assert running and pid > 0

    async def ex(*cmd, **kw):
        p = await box.rt.exec(c.id, ExecSpec(cmd=cmd, **kw))
        out = [item async for item in p.output()]
        return await p.wait(), b"".join(d for s, d in out if s == 1), \
            b"".join(d for s, d in out if s == 2)

    assert await ex("hostname") == (0, b"box-aaaa\n", b"")
    assert (await ex("cat", "/etc/hosts"))[1] == b"127.0.0.1\tlocalhost\n10.1.2.3\tbox\n"
    code, out, _ = await ex("ip", "addr")
    assert code == 0 and b"lo:" in out and b"eth0" not in out
    assert await ex("sh", "-c", "echo $FOO; exit 5", env=("FOO=bar",)) == (5, b"bar\n", b"")
    code, _, err = await ex("nosuch")
    assert code == 126 and b'exec: "nosuch": executable file not found in $PATH' in err
    assert (await ex("id", "-u", user="nobody"))[1] == b"65534\n"

    p = await box.rt.exec(c.id, ExecSpec(cmd=("cat",), attach_stdin=True))
    await p.write_stdin(b"ping\n")
    p.close_stdin()
    assert [item async for item in p.output()] == [(1, b"ping\n")] and await p.wait() == 0

    started = time.monotonic()
    await box.rt.stop(c.id, 1)  # sleep as pid 1 ignores SIGTERM: killed after 1 s
    assert await box.rt.wait_exit(c.id) == 137
    assert 0.9 < time.monotonic() - started < 5
    await box.rt.cleanup(c.id)
    assert not any("rootfs" in m for m in _mounts_under(box.root))
    assert await box.rt.state(c.id) == (False, 0)


async def test_stop_signal_handled_gives_143(box):
    c = await box.run("sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.05; done")
    await box.rt.stop(c.id, 10, "TERM")
    assert await box.rt.wait_exit(c.id) == 143


async def test_missing_command_fails_start(box):
    with pytest.raises(InvalidArgument, match='exec: "nosuch": executable file not found'):
        await box.run("nosuch")


def _processes_naming(text: str) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and text in _cmdline(int(p))]


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("PPid:"))


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode().split("\0")
    except FileNotFoundError:
        return []


async def test_open_stdin_keeps_sh_alive_and_a_new_runtime_adopts_it(box):
    c = await box.run("sh", open_stdin=True)
    await asyncio.sleep(0.3)
    assert (await box.rt.state(c.id))[0]  # no EOF on stdin: sh is still reading
    init = int(open(os.path.join(box.rt.files_dir(c.id), "init.pid")).read())
    monitor = _ppid(init)  # runc has exited: the container is the monitor's child
    assert "tether-monitor" in _cmdline(monitor) and _ppid(monitor) != os.getpid()
    assert not _processes_naming(f"{box.root}/data/containers/{c.id}")  # no runc stays
    await box.rt.close()  # the daemon goes; the monitor stays for its container
    fresh = Runtime(str(box.root / "data"), str(box.root / "exec"))  # "after a restart"
    assert (await fresh.state(c.id))[0]
    waiter = asyncio.create_task(fresh.wait_exit(c.id))
    await asyncio.sleep(0.1)
    await fresh.kill(c.id, "SIGKILL")
    assert await asyncio.wait_for(waiter, 10) == 137  # recorded by the same monitor
    await fresh.close()
    for _ in range(100):  # nothing to follow, nobody connected: it exits
        if not _cmdline(monitor):
            break
        await asyncio.sleep(0.05)
    assert not _cmdline(monitor)
    box.rt = fresh


async def test_a_container_outlives_a_killed_monitor_and_is_still_followed(box):
    c = await box.run("sleep", "60")
    init = int(open(os.path.join(box.rt.files_dir(c.id), "init.pid")).read())
    waiter = asyncio.create_task(box.rt.wait_exit(c.id))
    await asyncio.sleep(0.1)
    os.kill(_ppid(init), 9)
    await asyncio.sleep(0.2)
    assert (await box.rt.state(c.id))[0] and not waiter.done()
    await box.rt.kill(c.id, "SIGKILL")
    assert await asyncio.wait_for(waiter, 10) == 255  # nobody was left to record its code
    d = await box.run("sh", "-c", "exit 3", cid_char="b")  # a new monitor for new starts
    assert await asyncio.wait_for(box.rt.wait_exit(d.id), 10) == 3


async def test_runc_runs_away_from_the_daemons_mounts(box):
    """The rootfs overlay exists only in the container; runc's namespace has no netns pins,
    neither those made before it (one stacked on another) nor those made after."""
    pins = box.root / "exec" / "netns"
    pins.mkdir(parents=True)
    (pins / "early").touch()
    for _ in range(2):
        subprocess.run(["unshare", f"--net={pins / 'early'}", "true"], check=True)
    c = await box.run("sleep", "60")
    (pins / "late").touch()
    subprocess.run(["unshare", f"--net={pins / 'late'}", "true"], check=True)
    try:
        assert not any("rootfs" in m or "overlay" in m for m in _mounts_under(box.root))
        pid = int(open(os.path.join(box.rt.files_dir(c.id), "init.pid")).read())
        with open(f"/proc/{pid}/mountinfo") as f:
            root = next(line for line in f if line.split()[4] == "/")
        assert " - overlay " in root and f"upperdir={box.rt.files_dir(c.id)}/upper" in root
        ns = await box.rt.mountns.path()
        with open(os.path.join(os.path.dirname(os.path.dirname(ns)), "mountinfo")) as f:
            runtime_mounts = f.read()
        assert str(pins) not in runtime_mounts and str(box.root / "data") not in runtime_mounts
        assert os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(box.netns).st_ino
    finally:
        for name in ("early", "early", "late"):
            subprocess.run(["umount", str(pins / name)], check=True)
