"""The unmodified docker CLI and docker-py against the API on a temporary UNIX socket.

The engine is the in-memory fake; what is under test is the HTTP surface: negotiation,
output formats the CLI prints, and the exec hijack (101 UPGRADED, frames, half-close).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat

import docker
import pytest

from test_api_support import FakeEngine
from tether.api.app import make_app, serve_unix

DOCKER = "/usr/local/bin/docker"
pytestmark = pytest.mark.skipif(not os.path.exists(DOCKER), reason="docker CLI missing")


@pytest.fixture
async def sock(tmp_path):
    path = str(tmp_path / "run" / "tether.sock")
    engine = FakeEngine()
    runner = await serve_unix(make_app(engine, version_info={"Version": "0.1.0"}), path)
    yield path, engine
    await runner.cleanup()


async def cli(path: str, *args: str, stdin: bytes | None = None,
              env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        DOCKER, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent", "DOCKER_HOST": f"unix://{path}",
             "DOCKER_CONFIG": os.path.dirname(path), **(env or {})})
    out, err = await asyncio.wait_for(proc.communicate(stdin or b""), 20)
    return proc.returncode, out.decode(), err.decode()


async def test_socket_mode_and_stale_file(tmp_path):
    path = str(tmp_path / "d" / "s.sock")
    app = make_app(FakeEngine(), version_info={"Version": "0.1.0"})
    runner = await serve_unix(app, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    await runner.cleanup()
    if os.path.exists(path):  # a stale file left behind is replaced
        runner = await serve_unix(make_app(FakeEngine(), version_info={}), path)
        await runner.cleanup()


async def test_cli_version_and_network_formats(sock):
    path, engine = sock
    rc, out, err = await cli(path, "version", "--format",
                             "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.MinAPIVersion}}")
    assert (rc, out.strip()) == (0, "0.1.0 1.50 1.41"), err
    rc, out, _ = await cli(path, "network", "ls")
    lines = out.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert [line.split()[1:] for line in lines[1:]] == [
        ["bridge", "bridge", "local"], ["host", "host", "local"], ["none", "null", "local"]]
    rc, out, err = await cli(path, "network", "create", "--subnet", "10.77.0.0/24",
                             "--label", "env=dev", "my_net")
    assert rc == 0 and len(out.strip()) == 64, err
    rc, out, _ = await cli(path, "network", "ls", "--filter", "label=env=dev",
                           "--format", "{{.Name}} {{.Driver}}")
    assert out.strip() == "my_net bridge"
    rc, out, _ = await cli(path, "network", "inspect", "bridge",
                           env={"DOCKER_API_VERSION": "1.41"})
    want = open("/work/shared/reference/docker-behaviour/transcripts.md").read()
    start = want.index('$ docker network inspect bridge\n') + 32
    expected = want[start:want.index("```", start)].strip()
    strip_ids = lambda text: [line for line in text.splitlines()  # noqa: E731
                              if '"Id"' not in line and '"Created"' not in line]
    assert strip_ids(out.strip()) == strip_ids(expected)
    rc, out, err = await cli(path, "network", "rm", "my_net", "bridge")
    assert out.strip() == "my_net" and "bridge is a pre-defined network" in err and rc == 1


async def test_cli_run_exec_and_ps(sock):
    path, engine = sock
    rc, out, err = await cli(path, "run", "-d", "--name", "web", "-p", "8080:80",
                             "busybox:local", "httpd", "-f")
    assert rc == 0 and len(out.strip()) == 64, err
    rc, out, err = await cli(path, "exec", "web", "ip", "addr")
    assert (rc, out, err) == (3, "hello\n", "oops\n")
    rc, out, err = await cli(path, "exec", "-i", "web", "cat", stdin=b"from stdin\n")
    assert (rc, out) == (3, "from stdin\nhello\n"), err
    rc, out, _ = await cli(path, "ps", "--format", "{{.Names}} {{.Ports}} {{.Networks}}")
    assert out.strip() == "web 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp bridge"
    rc, out, _ = await cli(path, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web")
    assert out.strip() == "172.17.0.2"
    rc, _, err = await cli(path, "run", "-d", "--name", "web", "busybox:local")
    assert rc != 0 and 'The container name "/web" is already in use' in err


def _docker_py(path: str) -> tuple:
    client = docker.DockerClient(base_url=f"unix://{path}", version="auto")
    try:
        net = client.networks.create("py_net", driver="bridge", labels={"a": "b"})
        ctr = client.containers.run("busybox:local", ["sleep", "60"], detach=True,
                                    name="py1", network="py_net")
        result = ctr.exec_run(["echo", "hi"])
        demuxed = ctr.exec_run(["echo", "hi"], demux=True)
        ctr.reload()
        return (net.name, client.version()["ApiVersion"], result.exit_code, result.output,
                demuxed.output, ctr.attrs["NetworkSettings"]["Networks"]["py_net"]["IPAddress"])
    finally:
        client.close()


async def test_docker_py_network_container_exec(sock):
    path, _ = sock
    name, api, code, output, demuxed, ip = await asyncio.to_thread(_docker_py, path)
    assert (name, api, code) == ("py_net", "1.50", 3)
    assert output == b"hello\noops\n" and demuxed == (b"hello\n", b"oops\n")
    assert ip.startswith("172.")
