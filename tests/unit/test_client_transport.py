"""The client against a tiny fake daemon on a UNIX socket: framing, upgrades, errors."""

import json
import socket
import socketserver
import struct
import threading

import pytest

from tether.cli.main import main
from tether.client.api import Client
from tether.client.transport import DaemonError, DaemonUnreachable
from tether.errors import Conflict, NotFound


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def reply(status: str, body: bytes = b"", headers: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\n{headers}"
    if "Transfer-Encoding" not in headers and not status.startswith("101"):
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def jreply(status: str, obj) -> bytes:
    return reply(status, json.dumps(obj).encode(), "Content-Type: application/json\r\n")


class FakeDaemon:
    """Answers each request with the canned bytes registered for its method and path."""

    def __init__(self, path: str):
        self.routes: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict, bytes]] = []
        daemon = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline().decode()
                headers = {}
                while (raw := self.rfile.readline()) not in (b"\r\n", b""):
                    k, _, v = raw.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                body = self.rfile.read(int(headers.get("content-length", 0)))
                target = " ".join(line.split()[:2])
                daemon.requests.append((target, headers, body))
                path_only = target.split("?")[0]
                self.wfile.write(daemon.routes.get(target) or daemon.routes.get(path_only)
                                 or jreply("404 Not Found", {"message": "page not found"}))

        self.server = socketserver.ThreadingUnixStreamServer(path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def daemon(tmp_path):
    d = FakeDaemon(str(tmp_path / "tether.sock"))
    d.host = f"unix://{tmp_path / 'tether.sock'}"
    yield d
    d.close()


def test_error_status_maps_to_kind_with_daemons_message(daemon):
    daemon.routes["GET /v1.50/networks/nosuchnet"] = jreply(
        "404 Not Found", {"message": "network nosuchnet not found"})
    daemon.routes["POST /v1.50/networks/create"] = jreply(
        "409 Conflict", {"message": "network with name x already exists"})
    daemon.routes["DELETE /v1.50/networks/x"] = jreply(
        "500 Internal Server Error", {"message": "boom"})
    client = Client(daemon.host)
    with pytest.raises(NotFound, match="^network nosuchnet not found$"):
        client.inspect_network("nosuchnet")
    with pytest.raises(Conflict, match="already exists"):
        client.create_network("x")
    with pytest.raises(DaemonError) as exc:
        client.remove_network("x")
    assert exc.value.status == 500


def test_no_daemon_is_one_clear_sentence(tmp_path):
    missing = f"unix://{tmp_path / 'absent.sock'}"
    with pytest.raises(DaemonUnreachable) as exc:
        Client(missing).list_networks()
    assert str(exc.value) == (f"Cannot connect to the tether daemon at {missing}: is it "
                              "running? Start it with `sudo tetherd`.")
    stale = tmp_path / "stale.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(stale))
    sock.close()  # the file stays, nobody listens: ECONNREFUSED
    with pytest.raises(DaemonUnreachable, match="is it running"):
        Client(f"unix://{stale}").list_networks()


def test_exec_start_is_an_upgrade_and_frames_are_demultiplexed(daemon):
    daemon.routes["POST /v1.50/exec/e1/start"] = reply(
        "101 UPGRADED", frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b""),
        "Content-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\n"
        "Upgrade: tcp\r\n")
    frames = list(Client(daemon.host).start_exec("e1"))
    assert frames == [(1, b"out\n"), (2, b"err\n"), (1, b"")]
    _, headers, body = daemon.requests[-1]
    assert headers["connection"] == "Upgrade" and headers["upgrade"] == "tcp"
    assert json.loads(body) == {"Detach": False, "Tty": False}


def test_logs_frames_may_span_chunks(daemon):
    data = frame(1, b"hello ") + frame(2, b"world\n")
    daemon.routes["GET /v1.50/containers/c1/logs"] = reply(
        "200 OK", chunked(data[:5], data[5:13], data[13:]),
        "Transfer-Encoding: chunked\r\n")
    frames = list(Client(daemon.host).logs("c1", follow=True, tail="5"))
    assert frames == [(1, b"hello "), (2, b"world\n")]
    assert daemon.requests[-1][0] == \
        "GET /v1.50/containers/c1/logs?stdout=1&stderr=1&follow=1&tail=5"


def test_wait_returns_headers_first_then_status(daemon):
    daemon.routes["POST /v1.50/containers/c1/wait"] = reply(
        "200 OK", chunked(b'{"Error":null,"StatusCode":3}\n'), "Transfer-Encoding: chunked\r\n")
    waiter = Client(daemon.host).wait_container("c1", "next-exit")
    assert waiter.json() == {"Error": None, "StatusCode": 3}
    assert daemon.requests[-1][0].endswith("wait?condition=next-exit")


def test_image_import_streams_the_file(daemon, tmp_path):
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(b"x" * 100_000)
    daemon.routes["POST /v1.50/images/create"] = reply(
        "200 OK", b'{"status":"sha256:abc"}\r\n', "Content-Type: application/json\r\n")
    with open(tarball, "rb") as src:
        progress = list(Client(daemon.host).import_image(
            src, "busybox:local", ("CMD [\"sh\"]",)))
    assert progress == [{"status": "sha256:abc"}]
    target, headers, body = daemon.requests[-1]
    assert target == ("POST /v1.50/images/create?fromSrc=-&repo=busybox&tag=local"
                      "&changes=CMD%20%5B%22sh%22%5D")
    assert headers["content-type"] == "application/x-tar" and len(body) == 100_000


def test_cli_network_ls_and_rm_errors(daemon, capsys):
    nets = [{"Name": n, "Id": i * 64, "Driver": d, "Scope": "local"}
            for n, i, d in (("none", "9", "null"), ("bridge", "4", "bridge"))]
    daemon.routes["GET /v1.50/networks"] = jreply("200 OK", nets)
    assert main(["-H", daemon.host, "network", "ls"]) == 0
    assert capsys.readouterr().out == ("NETWORK ID     NAME      DRIVER    SCOPE\n"
                                       "444444444444   bridge    bridge    local\n"
                                       "999999999999   none      null      local\n")
    daemon.routes["DELETE /v1.50/networks/bridge"] = jreply(
        "403 Forbidden", {"message": "bridge is a pre-defined network and cannot be removed"})
    assert main(["-H", daemon.host, "network", "rm", "bridge"]) == 1
    assert capsys.readouterr().err == ("Error response from daemon: bridge is a pre-defined "
                                       "network and cannot be removed\nexit status 1\n")


def test_cli_exec_exits_with_the_exec_code(daemon, capfd):
    daemon.routes["POST /v1.50/containers/c1/exec"] = jreply("201 Created", {"Id": "e1"})
    daemon.routes["POST /v1.50/exec/e1/start"] = reply("101 UPGRADED", frame(1, b"hi\n"))
    daemon.routes["GET /v1.50/exec/e1/json"] = jreply("200 OK", {"ExitCode": 7})
    assert main(["-H", daemon.host, "exec", "c1", "sh", "-c", "echo hi; exit 7"]) == 7
    assert capfd.readouterr().out == "hi\n"


def test_cli_run_attached_falls_back_to_logs_and_returns_exit_code(daemon, capfd):
    daemon.routes["POST /v1.50/containers/create"] = jreply("201 Created", {"Id": "c9"})
    daemon.routes["POST /v1.50/containers/c9/wait"] = reply(
        "200 OK", chunked(b'{"Error":null,"StatusCode":4}'), "Transfer-Encoding: chunked\r\n")
    daemon.routes["POST /v1.50/containers/c9/start"] = reply("204 No Content")
    daemon.routes["GET /v1.50/containers/c9/logs"] = reply(
        "200 OK", chunked(frame(1, b"out\n"), frame(2, b"oops\n")),
        "Transfer-Encoding: chunked\r\n")
    daemon.routes["DELETE /v1.50/containers/c9"] = reply("204 No Content")
    assert main(["-H", daemon.host, "run", "--rm", "busybox", "sh", "-c", "exit 4"]) == 4
    out = capfd.readouterr()
    assert out.out == "out\n" and out.err == "oops\n"
    targets = [t for t, _, _ in daemon.requests]
    assert targets.index("POST /v1.50/containers/c9/wait?condition=removed") < \
        targets.index("POST /v1.50/containers/c9/start")


def test_cli_run_daemon_error_exits_125(daemon, capsys):
    daemon.routes["POST /v1.50/containers/create"] = jreply(
        "404 Not Found", {"message": "No such image: nosuchimage:latest"})
    assert main(["-H", daemon.host, "run", "--rm", "nosuchimage:latest", "true"]) == 125
    assert capsys.readouterr().err == ("tether: Error response from daemon: No such image: "
                                       "nosuchimage:latest\n\nRun 'tether run --help' for more "
                                       "information\n")


def test_cli_host_from_environment(daemon, monkeypatch, capsys):
    monkeypatch.setenv("TETHER_HOST", daemon.host)
    daemon.routes["GET /v1.50/networks"] = jreply("200 OK", [])
    assert main(["network", "ls", "-q"]) == 0
    assert capsys.readouterr().out == ""
