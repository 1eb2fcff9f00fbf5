"""The API's exposure: a 0660 UNIX socket (root and the `tether` group), TCP only when asked
and then TLS unless --insecure-tcp."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .support import harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_tcp(pid: int) -> list[str]:
    out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f"pid={pid}," in line]


def test_socket_is_0660_root_owned_and_nothing_listens_on_tcp(daemon):
    st = os.stat(daemon.socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_uid == 0 and st.st_gid == 0  # no `tether` group on this machine
    assert listening_tcp(daemon.proc.pid) == []


@pytest.fixture
def tether_group(tmp_path):
    """A `tether` group (gid 4242), visible only in this test's mount namespace."""
    fake = tmp_path / "group"
    fake.write_text(Path("/etc/group").read_text() + "tether:x:4242:\n")
    subprocess.run(["mount", "--bind", str(fake), "/etc/group"], check=True)
    yield 4242
    subprocess.run(["umount", "/etc/group"], check=True)


def test_socket_group_is_tether_when_the_group_exists(daemon_factory, tether_group):
    d = daemon_factory.start("grouped")
    try:
        st = os.stat(d.socket)
        assert st.st_gid == tether_group and stat.S_IMODE(st.st_mode) == 0o660
    finally:
        assert not daemon_factory.finish(d)


def tetherd_refuses(tmp_path, *args: str) -> str:
    out = subprocess.run([str(harness.tetherlab.VENV_BIN / "tetherd"), "--data-root",
                          str(tmp_path / "d"), "--exec-root", str(tmp_path / "e"),
                          "-H", f"unix://{tmp_path}/s.sock", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    return out.stderr


def test_plain_tcp_needs_an_explicit_flag(tmp_path):
    err = tetherd_refuses(tmp_path, "-H", f"tcp://127.0.0.1:{free_port()}")
    assert "needs TLS" in err and "--insecure-tcp" in err
    assert "go together" in tetherd_refuses(tmp_path, "-H", "tcp://127.0.0.1:1",
                                            "--tlscert", "/x")
    assert not (tmp_path / "s.sock").exists()


def make_certs(d: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all by it."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=tether test CA", "-days", "1")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}")
        (d / f"{name}.ext").write_text(ext + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", f"{name}.ext")
    return {n: d / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")}


def ping(port: int, ctx: ssl.SSLContext | None) -> int:
    scheme = "https" if ctx else "http"
    with urllib.request.urlopen(f"{scheme}://127.0.0.1:{port}/_ping", timeout=10,
                                context=ctx) as r:
        return r.status


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_tcp_with_tls_and_client_certificates(daemon_factory, tmp_path):
    certs = make_certs(tmp_path)
    port = free_port()
    d = daemon_factory.start("tls", extra_args=(
        "-H", f"tcp://127.0.0.1:{port}", "--tlscert", str(certs["server.pem"]),
        "--tlskey", str(certs["server.key"]), "--tlsverify", "--tlscacert", str(certs["ca.pem"])))
    try:
        ctx = ssl.create_default_context(cafile=str(certs["ca.pem"]))
        with pytest.raises(OSError):  # no client certificate: the handshake fails
            ping(port, ctx)
        with pytest.raises(OSError):  # and plain HTTP gets nothing
            ping(port, None)
        ctx.load_cert_chain(str(certs["client.pem"]), str(certs["client.key"]))
        assert ping(port, ctx) == 200
        env = dict(d.env, DOCKER_HOST=f"tcp://127.0.0.1:{port}", DOCKER_TLS_VERIFY="1",
                   DOCKER_CERT_PATH=str(tmp_path))
        for src, dst in (("ca.pem", "ca.pem"), ("client.pem", "cert.pem"), ("client.key", "key.pem")):
            if src != dst:
                shutil.copy(tmp_path / src, tmp_path / dst)
        cli = harness.DOCKER_CLI
        if os.path.exists(cli):
            out = subprocess.run([cli, "network", "ls", "--format", "{{json .}}"], env=env,
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            assert "bridge" in {json.loads(x)["Name"] for x in out.stdout.splitlines()}
    finally:
        assert not daemon_factory.finish(d)


def test_insecure_tcp_serves_plain_http_when_asked(daemon_factory):
    port = free_port()
    d = daemon_factory.start("plain", extra_args=("-H", f"tcp://127.0.0.1:{port}",
                                                  "--insecure-tcp"))
    try:
        assert ping(port, None) == 200
    finally:
        assert not daemon_factory.finish(d)
