"""Foreground and interactive containers through the unmodified docker CLI and `tether`.

A real pseudo-terminal drives the CLIs (raw mode, SIGWINCH, detach keys), as a user would.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

TETHER = [os.path.join(os.path.dirname(sys.executable), "tether")]


class Term:
    """A command on a new pty of 30 rows x 100 columns; `expect` reads until a text shows."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.seen = b""

    def expect(self, text: bytes, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                raise AssertionError(f"{text!r} not seen; got {self.seen[-400:]!r}")
            try:
                self.seen += os.read(self.master, 4096)
            except OSError:
                raise AssertionError(f"{text!r} not seen before EOF; got {self.seen!r}")

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 20.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            os.close(self.master)


def _client(daemon, which: str) -> list[str]:
    if which == "docker":
        daemon.docker("version")  # skips when the CLI is absent
        return ["/usr/local/bin/docker"]
    return TETHER


def _running(daemon, name: str) -> bool:
    out = daemon.docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
    return out == "true"


@pytest.mark.parametrize("which", ["tether", "docker"])
def test_run_it_detach_reattach_exit(daemon, busybox_image, which):
    """run -it, type, CTRL-p CTRL-q leaves it running, attach again (resized), exit stops it."""
    cli, name = _client(daemon, which), f"it-{which}"
    term = Term([*cli, "run", "-it", "--name", name, busybox_image, "sh"], daemon.env)
    term.expect(b"# ")  # the shell's prompt: typing earlier races its terminal set-up
    term.send(b"echo $((6*7))x\r")
    term.expect(b"42x")
    term.send(b"\x10\x11")
    assert term.wait() == 0
    assert _running(daemon, name)
    term = Term([*cli, "attach", name], daemon.env)
    term.send(b"\r")
    term.expect(b"# ")  # a new prompt: the attach is in place
    term.send(b"stty size; echo $((7*8))y\r")
    term.expect(b"56y")
    assert b"30 100" in term.seen
    term.send(b"exit 7\r")
    assert term.wait() == 7
    assert not _running(daemon, name)
    daemon.docker("rm", name, check=True)


@pytest.mark.parametrize("which", ["tether", "docker"])
def test_custom_detach_keys_and_exec_it(daemon, busybox_image, which):
    cli, name = _client(daemon, which), f"keys-{which}"
    term = Term([*cli, "run", "-it", "--detach-keys", "ctrl-a,x", "--name", name,
                 busybox_image, "sh"], daemon.env)
    term.expect(b"# ")
    term.send(b"echo $((5*5))z\r")
    term.expect(b"25z")
    term.send(b"\x10\x11")  # the default keys are plain input now
    term.send(b"\x01x")
    assert term.wait() == 0
    assert _running(daemon, name)
    term = Term([*cli, "exec", "-it", name, "sh"], daemon.env)
    term.expect(b"# ")
    term.send(b"tty; echo $((9*9))e\r")
    term.expect(b"81e")
    assert b"/dev/pts/" in term.seen
    term.send(b"exit 3\r")
    assert term.wait() == 3
    daemon.docker("rm", "-f", name, check=True)


@pytest.mark.parametrize("which", ["tether", "docker"])
def test_foreground_output_stdin_and_exit_codes(daemon, busybox_image, which):
    cli = _client(daemon, which)
    run = lambda *args, **kw: daemon.run([*cli, *args], False, 60, kw.get("input"))  # noqa
    for i in range(3):  # prints and exits at once: nothing may be lost
        r = run("run", "--rm", busybox_image, "sh", "-c", f"echo out{i}; echo err{i} >&2")
        assert (r.returncode, r.stdout, r.stderr.strip()) == (0, f"out{i}\n", f"err{i}")
    assert run("run", "--rm", busybox_image, "sh", "-c", "exit 3").returncode == 3
    r = run("run", "-i", "--rm", busybox_image, "cat", input="hi\n")
    assert (r.returncode, r.stdout) == (0, "hi\n")


def test_resize_api_and_bad_detach_keys(daemon, busybox_image):
    r = daemon.docker("run", "-d", "-t", "--name", "rs", busybox_image, "sleep", "60",
                      check=True)
    resp = daemon.api("POST", "/containers/rs/resize?h=12&w=34")
    assert resp.status == 200
    out = daemon.docker("exec", "rs", "stty", "-F", "/dev/console", "size").stdout
    assert out.strip() == "12 34", r
    bad = daemon.api("POST", "/containers/rs/attach?stream=1&stdout=1&detachKeys=ctrl-1")
    assert bad.status == 400
    assert daemon.api("POST", "/containers/rs/resize?h=x&w=1").status == 400
    daemon.docker("rm", "-f", "rs", check=True)


def test_tty_container_survives_a_daemon_restart(daemon, busybox_image):
    """The pty shim, not the daemon, holds the terminal: a new daemon adopts it."""
    daemon.docker("run", "-dit", "--name", "keep", busybox_image, "sh", check=True)
    daemon.restart()
    assert _running(daemon, "keep")
    term = Term(["/usr/local/bin/docker", "attach", "keep"], daemon.env)
    term.send(b"echo $((4*4))r\r")
    term.expect(b"16r")
    term.send(b"exit 2\r")
    assert term.wait() == 2
    out = daemon.docker("inspect", "-f", "{{.State.ExitCode}}", "keep").stdout.strip()
    assert out == "2"
    daemon.docker("rm", "keep", check=True)


def test_docker_py_attach_socket_and_websocket(daemon, docker_client, busybox_image):
    """docker-py's attach socket carries stdin and framed stdout; the websocket variant too."""
    import asyncio
    import socket as socketlib

    import aiohttp

    c = docker_client.containers.create(busybox_image, "sh", stdin_open=True, name="dpy")
    sock = c.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    raw = sock._sock if hasattr(sock, "_sock") else sock
    c.start()
    raw.sendall(b"echo $((8*8))p\n")
    got = b""
    raw.settimeout(20)
    while b"64p\n" not in got:
        chunk = raw.recv(4096)
        assert chunk, got
        got += chunk
    assert got.startswith(b"\x01\x00\x00\x00")  # a multiplexed stdout frame
    raw.shutdown(socketlib.SHUT_WR)  # docker-py set StdinOnce: the shell gets EOF and ends
    assert c.wait(timeout=20)["StatusCode"] == 0
    raw.close()
    c.remove()
    daemon.docker("run", "-di", "--name", "wsc", busybox_image, "sh", check=True)

    async def over_websocket() -> bytes:
        connector = aiohttp.UnixConnector(path=daemon.socket)
        async with aiohttp.ClientSession(connector=connector) as session:
            url = "http://tether/v1.50/containers/wsc/attach/ws?stream=1&stdin=1&stdout=1"
            async with session.ws_connect(url) as ws:
                await ws.send_bytes(b"echo $((3*3))w\n")
                seen = b""
                while b"9w\n" not in seen:
                    msg = await asyncio.wait_for(ws.receive(), 20)
                    assert msg.type == aiohttp.WSMsgType.BINARY, msg
                    seen += msg.data
                return seen

    assert b"9w\n" in asyncio.run(over_websocket())
    assert _running(daemon, "wsc")
    daemon.docker("rm", "-f", "wsc", check=True)
