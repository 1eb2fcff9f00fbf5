"""A minimal HTTP/1.1 client over a UNIX socket, for the CLI's fast start.

`http.client` pulls in the `email` package (about 40 ms of imports), which alone would make
`tether network ls` slower than `docker network ls`; this module speaks just the HTTP the
Docker Engine API needs: Content-Length and chunked bodies, read-until-close, and the
`101 UPGRADED` hijack of `attach` and `exec start`. One connection per request keeps it simple:
connecting to a UNIX socket costs microseconds.
"""

from __future__ import annotations

import json
import os
import socket

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~5 ms of start-up; annotations are strings anyway
    from typing import BinaryIO, Iterator

from tether.errors import (
    Conflict, Forbidden, InvalidArgument, NotFound, NotModified, TetherError, Unavailable,
)

DEFAULT_HOST = "unix:///run/tether/tether.sock"

_KINDS: dict[int, type[TetherError]] = {
    304: NotModified, 400: InvalidArgument, 403: Forbidden, 404: NotFound, 409: Conflict,
    503: Unavailable,
}


class DaemonUnreachable(Unavailable):
    """No daemon listens on the socket (it does not exist, or nobody accepts on it)."""


class DaemonError(TetherError):
    """The daemon answered with an error status that has no more specific kind."""


def resolve_host(host: str | None = None) -> str:
    """Pick the daemon address: the -H flag, then TETHER_HOST, then the default socket."""
    return host or os.environ.get("TETHER_HOST") or DEFAULT_HOST


def socket_path(host: str) -> str:
    """Return the filesystem path of a `unix://` host; other schemes are not supported."""
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if host.startswith("/"):
        return host
    raise InvalidArgument(f"unsupported daemon address {host!r}: use unix:///path/to/socket")


def error_for(status: int, message: str) -> TetherError:
    """Map an HTTP status to the error kind the daemon meant, keeping its sentence."""
    kind = _KINDS.get(status, DaemonError)
    err = kind(message)
    if kind is DaemonError:
        err.status = status
    err.from_daemon = True
    return err


class Response:
    """The status, headers and body reader of one HTTP response.

    The body is read lazily so that streaming endpoints (logs, wait, image import) can be
    consumed as they arrive.
    """

    def __init__(self, sock: socket.socket, reader: BinaryIO, status: int,
                 headers: dict[str, str], method: str):
        self.sock, self.status, self.headers = sock, status, headers
        self._reader = reader
        self.body = self._body_reader(method)

    def _body_reader(self, method: str) -> BinaryIO:
        if self.status in (101, 204, 304) or method == "HEAD":
            return _Exact(self._reader, 0) if self.status != 101 else self._reader
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return _Chunked(self._reader)
        if "content-length" in self.headers:
            return _Exact(self._reader, int(self.headers["content-length"]))
        return self._reader

    def read(self) -> bytes:
        """Read the whole body."""
        return self.body.read()

    def json(self):
        """Read and decode a JSON body; an empty body decodes to None."""
        data = self.read()
        return json.loads(data) if data.strip() else None

    def json_lines(self) -> Iterator[dict]:
        """Decode a stream of JSON messages, one per line (image import progress)."""
        for line in iter(self.body.readline, b""):
            if line.strip():
                yield json.loads(line)

    def close(self) -> None:
        """Close the connection; the socket is not reused."""
        self._reader.close()
        self.sock.close()


class _Exact:
    """A body of known length: never read past it."""

    def __init__(self, reader: BinaryIO, length: int):
        self._reader, self._left = reader, length

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        data = self._reader.read(n) if n else b""
        self._left -= len(data)
        return data

    def readline(self) -> bytes:
        data = self._reader.readline(self._left) if self._left else b""
        self._left -= len(data)
        return data


class _Chunked:
    """A chunked body presented as one byte stream (frames may span chunks)."""

    def __init__(self, reader: BinaryIO):
        self._reader, self._left, self._done = reader, 0, False

    def _next_chunk(self) -> bool:
        if self._done:
            return False
        line = self._reader.readline()
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            self._done = True
            return False
        self._left = size
        return True

    def _tail(self) -> None:
        """Consume the CRLF that ends a chunk."""
        self._reader.readline()

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while n < 0 or len(out) < n:
            if self._left == 0 and not self._next_chunk():
                break
            want = self._left if n < 0 else min(self._left, n - len(out))
            data = self._reader.read(want)
            if not data:
                self._done = True
                break
            out += data
            self._left -= len(data)
            if self._left == 0:
                self._tail()
        return bytes(out)

    def readline(self) -> bytes:
        out = bytearray()
        while not out.endswith(b"\n"):
            byte = self.read(1)
            if not byte:
                break
            out += byte
        return bytes(out)


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "") -> str:
    """Percent-encode like urllib.parse.quote (which imports ipaddress: slow start-up)."""
    keep = _SAFE | frozenset(safe.encode())
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in str(text).encode())


def urlencode(params) -> str:
    """Encode (key, value) pairs or a dict as a query string."""
    items = params.items() if isinstance(params, dict) else params
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in items)


def build_path(path: str, query: dict | list | None = None) -> str:
    """Quote a path and append the query (a dict, or pairs for repeated keys), dropping
    parameters whose value is None."""
    path = quote(path, safe="/:@")
    pairs = query.items() if isinstance(query, dict) else (query or [])
    params = [(k, v) for k, v in pairs if v is not None]
    return f"{path}?{urlencode(params)}" if params else path


class Transport:
    """Send one request per connection to the daemon's UNIX socket."""

    def __init__(self, host: str | None = None, timeout: float | None = None):
        self.host = resolve_host(host)
        self.path = socket_path(self.host)
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise DaemonUnreachable(
                f"Cannot connect to the tether daemon at {self.host}: is it running? "
                "Start it with `sudo tetherd`.") from exc
        except PermissionError as exc:
            sock.close()
            raise Forbidden(
                f"Permission denied while connecting to the tether daemon at {self.host}: "
                "run the command as root.") from exc
        return sock

    def request(self, method: str, path: str, *, query: dict | list | None = None,
                body: bytes | BinaryIO | None = None, headers: dict | None = None,
                upgrade: bool = False) -> Response:
        """Send a request and return the response once its headers arrived.

        Raises:
            DaemonUnreachable: nobody listens on the socket.
            TetherError: the daemon answered >= 400 (or 304); the kind follows the status.
        """
        sock = self._connect()
        try:
            _send(sock, method, build_path(path, query), body, headers or {}, upgrade)
            reader = sock.makefile("rb")
            status, hdrs = _read_head(reader)
        except OSError as exc:
            sock.close()
            raise DaemonUnreachable(
                f"The tether daemon at {self.host} closed the connection: {exc}.") from exc
        resp = Response(sock, reader, status, hdrs, method)
        if status >= 400 or status == 304:
            _raise_for(resp)
        return resp


def _send(sock: socket.socket, method: str, target: str, body, headers: dict,
          upgrade: bool) -> None:
    lines = [f"{method} {target} HTTP/1.1", "Host: api.moby.localhost",
             "User-Agent: tether-cli"]
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    length = _body_length(body)
    if length is not None:
        lines.append(f"Content-Length: {length}")
    elif method in ("POST", "PUT"):
        lines.append("Content-Length: 0")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if isinstance(body, (bytes, bytearray)):
        sock.sendall(body)
    elif body is not None:
        sock.sendfile(body)


def _body_length(body) -> int | None:
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return len(body)
    return os.fstat(body.fileno()).st_size - body.tell()


def _read_head(reader: BinaryIO) -> tuple[int, dict[str, str]]:
    line = reader.readline()
    if not line:
        raise ConnectionResetError("empty response")
    parts = line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline()
        if raw in (b"\r\n", b"\n", b""):
            break
        key, _, value = raw.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    return status, headers


def _raise_for(resp: Response) -> None:
    try:
        data = resp.read()
    finally:
        resp.close()
    message = data.decode("utf-8", "replace").strip()
    try:
        message = json.loads(data)["message"]
    except (ValueError, KeyError, TypeError):
        pass
    raise error_for(resp.status, message or f"the daemon answered status {resp.status}")


def iter_frames(stream: BinaryIO, tty: bool = False) -> Iterator[tuple[int, bytes]]:
    """Split the multiplexed stdout/stderr stream into (stream, payload) pairs.

    Each frame has an 8-byte header: stream type (1 stdout, 2 stderr), three zero bytes and
    a big-endian uint32 length. A TTY stream has no framing: everything is stdout.
    """
    read = getattr(stream, "read1", None) if tty else None
    while True:
        if tty:
            data = read(65536) if read else stream.read(65536)
            if not data:
                return
            yield 1, data
            continue
        header = _read_exact(stream, 8)
        if header is None:
            return
        size = int.from_bytes(header[4:8], "big")
        payload = _read_exact(stream, size) if size else b""
        if payload is None:
            return
        yield header[0], payload


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    out = bytearray()
    while len(out) < n:
        data = stream.read(n - len(out))
        if not data:
            return None
        out += data
    return bytes(out)
