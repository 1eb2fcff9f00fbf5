"""`Client`: one method per Engine API call the CLI makes, over the daemon's UNIX socket."""

from __future__ import annotations

import json

from tether.client import bodies
from tether.client.transport import Response, Transport, iter_frames
from tether.errors import NotModified

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO, Iterator

    from tether.client.bodies import EndpointOptions, IPAMRequest
    from tether.client.run_body import RunOptions

API_VERSION = "1.50"


class Client:
    """A synchronous Docker Engine API client for tether's daemon.

    Every call opens its own connection; errors come back as tether.errors kinds carrying
    the daemon's message.
    """

    def __init__(self, host: str | None = None, timeout: float | None = None):
        self.transport = Transport(host, timeout)
        self.host = self.transport.host

    def _call(self, method: str, path: str, *, query: dict | None = None, body=None,
              headers: dict | None = None, upgrade: bool = False) -> Response:
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
            hdrs.setdefault("Content-Type", "application/json")
        return self.transport.request(method, f"/v{API_VERSION}{path}", query=query,
                                      body=body, headers=hdrs, upgrade=upgrade)

    def _json(self, method: str, path: str, **kw):
        resp = self._call(method, path, **kw)
        try:
            return resp.json()
        finally:
            resp.close()

    # system

    def ping(self) -> bool:
        resp = self.transport.request("HEAD", "/_ping")
        resp.close()
        return resp.status == 200

    def version(self) -> dict:
        return self._json("GET", "/version")

    def info(self) -> dict:
        return self._json("GET", "/info")

    def events(self, since: str | None = None, until: str | None = None,
               filters: list[str] | None = None) -> Iterator[dict]:
        """`GET /events` as decoded objects, until `until` or until the caller stops."""
        query = {"since": since, "until": until, "filters": bodies.filters_query(filters)}
        return _json_lines(self._call("GET", "/events", query={
            k: v for k, v in query.items() if v}))

    def topology(self) -> dict:
        """tether's topology snapshot (`GET /tether/topology`, netview.topology JSON)."""
        return self._json("GET", "/tether/topology")

    def probe(self, container: str, address: str, port: int | None, proto: str) -> dict:
        """One real packet from `container`'s namespace: {"reached", "detail"}."""
        query = {"from": container, "address": address, "proto": proto}
        if port:
            query["port"] = str(port)
        return self._json("POST", "/tether/probe", query=query)

    # networks

    def list_networks(self, filters: list[str] | dict | None = None) -> list[dict]:
        return self._json("GET", "/networks", query={"filters": bodies.filters_query(filters)}) or []

    def inspect_network(self, name: str, verbose: bool = False) -> dict:
        return self._json("GET", f"/networks/{name}",
                          query={"verbose": "true" if verbose else None})

    def create_network(self, name: str, *, driver: str = "bridge",
                       ipam: IPAMRequest | None = None, **kw) -> dict:
        """Create a network; keyword options are those of `bodies.network_create_body`.

        Returns:
            The daemon's answer, `{"Id": ..., "Warning": ...}`.
        """
        from tether.client.network_body import IPAMRequest, network_create_body

        body = network_create_body(name, driver=driver, ipam=ipam or IPAMRequest(), **kw)
        return self._json("POST", "/networks/create", body=body)

    def remove_network(self, name: str) -> None:
        self._call("DELETE", f"/networks/{name}").close()

    def prune_networks(self, filters: list[str] | None = None) -> dict:
        return self._json("POST", "/networks/prune", query={"filters": bodies.filters_query(filters)})

    def connect_network(self, network: str, container: str,
                        endpoint: EndpointOptions | None = None) -> None:
        from tether.client.network_body import EndpointOptions, connect_body

        self._call("POST", f"/networks/{network}/connect",
                   body=connect_body(container, endpoint or EndpointOptions())).close()

    def disconnect_network(self, network: str, container: str, force: bool = False) -> None:
        self._call("POST", f"/networks/{network}/disconnect",
                   body=bodies.disconnect_body(container, force)).close()

    # containers

    def create_container(self, opts: RunOptions) -> dict:
        """Create a container from run options; returns `{"Id": ..., "Warnings": [...]}`."""
        from tether.client.run_body import container_create_body

        return self._json("POST", "/containers/create", body=container_create_body(opts),
                          query={"name": opts.name or None})

    def start_container(self, ident: str) -> None:
        self._call("POST", f"/containers/{ident}/start").close()

    def stop_container(self, ident: str, timeout: int | None = None,
                       signal: str | None = None) -> None:
        """Stop a container; stopping a stopped one is not an error (304), as in docker."""
        try:
            self._call("POST", f"/containers/{ident}/stop",
                       query={"t": timeout, "signal": signal}).close()
        except NotModified:
            pass

    def rename_container(self, ident: str, name: str) -> None:
        self._call("POST", f"/containers/{ident}/rename", query={"name": name}).close()

    def kill_container(self, ident: str, signal: str | None = None) -> None:
        self._call("POST", f"/containers/{ident}/kill", query={"signal": signal}).close()

    def remove_container(self, ident: str, force: bool = False, volumes: bool = False,
                         link: bool = False) -> None:
        query = {"force": "1" if force else None, "v": "1" if volumes else None,
                 "link": "1" if link else None}
        self._call("DELETE", f"/containers/{ident}", query=query).close()

    def list_containers(self, all: bool = False, filters: list[str] | None = None,
                        limit: int | None = None) -> list[dict]:
        query = {"all": "1" if all else None, "limit": limit,
                 "filters": bodies.filters_query(filters)}
        return self._json("GET", "/containers/json", query=query) or []

    def inspect_container(self, ident: str) -> dict:
        return self._json("GET", f"/containers/{ident}/json")

    def wait_container(self, ident: str, condition: str | None = None) -> Response:
        """Start waiting; the headers come back at once, the body when the condition holds.

        Call `.json()` on the result to block for `{"StatusCode": N, "Error": ...}`.
        """
        return self._call("POST", f"/containers/{ident}/wait", query={"condition": condition})

    def logs(self, ident: str, *, follow: bool = False, tail: str | None = None,
             timestamps: bool = False, stdout: bool = True, stderr: bool = True,
             tty: bool = False) -> Iterator[tuple[int, bytes]]:
        """Yield (stream, bytes) frames of a container's output (1 stdout, 2 stderr)."""
        query = {"stdout": "1" if stdout else None, "stderr": "1" if stderr else None,
                 "follow": "1" if follow else None, "tail": tail,
                 "timestamps": "1" if timestamps else None}
        resp = self._call("GET", f"/containers/{ident}/logs", query=query)
        return _frames(resp, tty)

    def attach(self, ident: str, tty: bool = False) -> Iterator[tuple[int, bytes]]:
        """Hijack the container's stdout/stderr (HTTP upgrade), before it is started."""
        resp = self._call("POST", f"/containers/{ident}/attach",
                          query={"stderr": "1", "stdout": "1", "stream": "1"},
                          headers={"Content-Type": "text/plain"}, upgrade=True)
        return _frames(resp, tty)

    def attach_stream(self, ident: str, *, stdin: bool, detach_keys: str = "") -> Response:
        """Hijack the container's streams, stdin included when asked; the raw Response
        (write stdin to `.sock`, read output from `.body`)."""
        query = {"stderr": "1", "stdout": "1", "stream": "1", "stdin": "1" if stdin else None,
                 "detachKeys": detach_keys or None}
        return self._call("POST", f"/containers/{ident}/attach", query=query,
                          headers={"Content-Type": "text/plain"}, upgrade=True)

    def resize_container(self, ident: str, height: int, width: int) -> None:
        self._call("POST", f"/containers/{ident}/resize",
                   query={"h": str(height), "w": str(width)}).close()

    def resize_exec(self, exec_id: str, height: int, width: int) -> None:
        self._call("POST", f"/exec/{exec_id}/resize",
                   query={"h": str(height), "w": str(width)}).close()

    def start_exec_stream(self, exec_id: str, tty: bool) -> Response:
        """Start an exec attached (HTTP upgrade); the raw Response, as `attach_stream`."""
        return self._call("POST", f"/exec/{exec_id}/start",
                          body={"Detach": False, "Tty": tty}, upgrade=True)

    # exec

    def create_exec(self, container: str, cmd: list[str], **kw) -> str:
        """Create an exec instance; keywords are those of `bodies.exec_body`. Returns its id."""
        return self._json("POST", f"/containers/{container}/exec",
                          body=bodies.exec_body(cmd, **kw))["Id"]

    def start_exec(self, exec_id: str, tty: bool = False) -> Iterator[tuple[int, bytes]]:
        """Run the exec attached (HTTP upgrade) and yield its output frames."""
        resp = self._call("POST", f"/exec/{exec_id}/start",
                          body={"Detach": False, "Tty": tty}, upgrade=True)
        return _frames(resp, tty)

    def start_exec_detached(self, exec_id: str) -> None:
        self._call("POST", f"/exec/{exec_id}/start", body={"Detach": True, "Tty": False}).close()

    def inspect_exec(self, exec_id: str) -> dict:
        return self._json("GET", f"/exec/{exec_id}/json")

    # images

    def import_image(self, source: BinaryIO, repo: str = "", changes: tuple[str, ...] = (),
                     message: str | None = None) -> Iterator[dict]:
        """Stream a rootfs tarball to `POST /images/create?fromSrc=-`; yield progress lines."""
        query: list[tuple[str, str]] = [("fromSrc", "-")]
        if repo:
            name, tag = split_reference(repo)
            query += [("repo", name)] + ([("tag", tag)] if tag else [])
        query += [("changes", c) for c in changes]
        if message:
            query.append(("message", message))
        resp = self.transport.request("POST", f"/v{API_VERSION}/images/create", query=query,
                                      body=source, headers={"Content-Type": "application/x-tar"})
        return _json_lines(resp)

    def list_images(self, all: bool = False, filters: list[str] | None = None) -> list[dict]:
        query = {"all": "1" if all else None, "filters": bodies.filters_query(filters)}
        return self._json("GET", "/images/json", query=query) or []

    def inspect_image(self, name: str) -> dict:
        return self._json("GET", f"/images/{name}/json")

    def remove_image(self, name: str, force: bool = False) -> list[dict]:
        return self._json("DELETE", f"/images/{name}",
                          query={"force": "1" if force else None}) or []


def split_reference(ref: str) -> tuple[str, str]:
    """Split `name[:tag]` (a registry port such as `host:5000/x` is not a tag)."""
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, ""
    return name, tag


def _frames(resp: Response, tty: bool) -> Iterator[tuple[int, bytes]]:
    try:
        yield from iter_frames(resp.body, tty)
    finally:
        resp.close()


def _json_lines(resp: Response) -> Iterator[dict]:
    try:
        yield from resp.json_lines()
    finally:
        resp.close()
