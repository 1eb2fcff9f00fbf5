"""The cluster `Store`: etcd v3 through its JSON gateway (`/v3/...`) over aiohttp.

Why the gateway: it is part of every etcd v3 server, speaks plain HTTP/1.1 with JSON, and so
needs no gRPC stack; aiohttp is already the daemon's HTTP library. Keys and values travel
base64-encoded; int64 fields arrive as JSON strings.

Contract mapping: a key's revision is etcd's `mod_revision` (0 when absent), so every
expectation is one `MOD == n` compare, absent included. A transaction is one etcd `txn`.
Everything lives under `namespace` (default `/tether/`), stripped from returned keys, so a
shared etcd holds tether's keys apart from others'.

Failure: each request tries the endpoints in turn, starting with the last one that answered;
when none answers within `timeout`, `Unavailable` (503) names them. A watch ends with
`Unavailable` when its stream breaks: the caller re-lists and watches again (the cluster
agent does exactly that), which is simpler and safer than resuming blind.

Leases (etcd-only, used for host membership): `grant`, `keepalive`, `revoke`, and the
`lease=` argument of `put`/`commit` attaching keys to a lease.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any, AsyncIterator, Sequence

import aiohttp

from tether.errors import CasFailed, InvalidArgument, Unavailable
from tether.store.base import Delete, Put, WatchEvent
from tether.store.txn import check_unique

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "/tether/"
RETRY_CODES = (4, 14)  # gRPC DEADLINE_EXCEEDED, UNAVAILABLE (no leader, leader changed)


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def range_end(prefix: str) -> str:
    """etcd's `range_end` for a prefix: the prefix with its last byte plus one."""
    raw = bytearray(prefix.encode())
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b64(b"\0")
    raw[-1] += 1
    return b64(bytes(raw))


@dataclass(frozen=True)
class EtcdConfig:
    """Where the cluster store is and how to talk to it (`--cluster-store`, `-opt`s)."""

    endpoints: tuple[str, ...]          # host:port
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    namespace: str = DEFAULT_NAMESPACE
    timeout: float = 3.0  # outlasts an election (etcd's default election timeout is 1 s)

    @property
    def scheme(self) -> str:
        return "https" if self.cafile or self.certfile else "http"

    def urls(self) -> list[str]:
        return [f"{self.scheme}://{e}" for e in self.endpoints]

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.scheme == "http":
            return None
        ctx = ssl.create_default_context(cafile=self.cafile)
        if self.certfile:
            ctx.load_cert_chain(self.certfile, self.keyfile)
        return ctx


def parse_store_url(url: str, opts: dict[str, str]) -> EtcdConfig:
    """`etcd://H:P[,H:P...]` plus Docker's `kv.*` TLS options; InvalidArgument otherwise."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme != "etcd":
        raise InvalidArgument(f"unsupported cluster store {url!r}: use etcd://HOST:PORT[,...]")
    endpoints = tuple(e for e in rest.strip("/").split(",") if e)
    if not endpoints or any(":" not in e for e in endpoints):
        raise InvalidArgument(f"cluster store {url!r}: every endpoint needs HOST:PORT")
    known = {"kv.cacertfile", "kv.certfile", "kv.keyfile", "kv.namespace", "kv.timeout",
             "discovery.ttl", "discovery.heartbeat"}
    for key in opts:
        if key not in known:
            raise InvalidArgument(f"unknown --cluster-store-opt {key!r}")
    return EtcdConfig(endpoints, opts.get("kv.cacertfile"), opts.get("kv.certfile"),
                      opts.get("kv.keyfile"), opts.get("kv.namespace", DEFAULT_NAMESPACE),
                      float(opts.get("kv.timeout", "3")))


class EtcdStore:
    """Compare-and-swap key-value store in etcd; see the module docstring."""

    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        self.ns = config.namespace
        self._urls = config.urls()
        self._current = 0
        self._session: aiohttp.ClientSession | None = None
        self.revision = 0  # the newest header revision seen: where a fresh watch starts

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            conn = aiohttp.TCPConnector(ssl=self.config.ssl_context() or False)
            self._session = aiohttp.ClientSession(connector=conn)
        return self._session

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST `body` to `path`, trying the endpoints in turn until one answers or `timeout`
        has passed (an election answers "leader changed" from every member for a moment);
        then Unavailable. A request that timed out may still have been applied: a retried
        compare-and-swap then fails against its own write, which callers see as a conflict."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout
        n = len(self._urls)
        step = max(self.config.timeout / n, 0.3)
        last: Exception | None = None
        attempt = 0
        while attempt < n or loop.time() < deadline:
            index = (self._current + attempt) % n
            attempt += 1
            remaining = max(deadline - loop.time(), 0.05)
            try:
                reply = await self._post(self._urls[index] + path, body, min(step, remaining))
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                last = exc
            else:
                if not (isinstance(reply, dict) and reply.get("code") in RETRY_CODES):
                    self._current = index
                    self._seen(reply)
                    return reply
                last = Unavailable(reply.get("message", "unavailable"))
            if attempt % n == 0:
                await asyncio.sleep(0.05)
        raise Unavailable(f"the cluster store is unreachable (etcd at "
                          f"{', '.join(self.config.endpoints)}): {type(last).__name__}: {last}")

    async def _post(self, url: str, body: dict[str, Any], timeout: float) -> Any:
        limit = aiohttp.ClientTimeout(total=timeout)
        async with self._client().post(url, json=body, timeout=limit) as resp:
            return await resp.json(content_type=None)

    def _seen(self, reply: dict[str, Any]) -> None:
        rev = int(reply.get("header", {}).get("revision", 0))
        self.revision = max(self.revision, rev)

    def key(self, key: str) -> str:
        return self.ns + key

    # ---- the Store contract ----------------------------------------------------------------

    async def get(self, key: str) -> tuple[bytes | None, int]:
        reply = await self.call("/v3/kv/range", {"key": b64(self.key(key))})
        kvs = reply.get("kvs") or []
        if not kvs:
            return None, 0
        return unb64(kvs[0].get("value")), int(kvs[0]["mod_revision"])

    async def put(self, key: str, value: bytes, *, expect_rev: int | None = None,
                  lease: int = 0) -> int:
        return await self.commit([Put(key, value, expect_rev)], lease=lease)

    async def delete(self, key: str, *, expect_rev: int | None = None) -> bool:
        _, rev = await self.get(key) if expect_rev is None else (None, expect_rev)
        existed = rev != 0
        if expect_rev is None:
            reply = await self.call("/v3/kv/deleterange", {"key": b64(self.key(key))})
            return int(reply.get("deleted", 0)) > 0
        await self.commit([Delete(key, expect_rev)])
        return existed

    async def list(self, prefix: str) -> list[tuple[str, bytes, int]]:
        return (await self.list_at(prefix))[0]

    async def list_at(self, prefix: str) -> tuple[list[tuple[str, bytes, int]], int]:
        """Every key under `prefix` and the store revision the listing reflects."""
        full = self.key(prefix)
        reply = await self.call("/v3/kv/range", {"key": b64(full), "range_end": range_end(full),
                                                 "sort_order": "ASCEND", "sort_target": "KEY"})
        out = [(unb64(kv["key"]).decode()[len(self.ns):], unb64(kv.get("value")),
                int(kv["mod_revision"])) for kv in reply.get("kvs") or []]
        return out, int(reply.get("header", {}).get("revision", 0))

    async def commit(self, ops: Sequence[Put | Delete], *, lease: int = 0) -> int:
        """One etcd txn: every expectation a `MOD ==` compare; CasFailed when one fails."""
        check_unique(ops)
        compare = [{"key": b64(self.key(op.key)), "target": "MOD", "result": "EQUAL",
                    "mod_revision": str(op.expect_rev)}
                   for op in ops if op.expect_rev is not None]
        success = [self._request(op, lease) for op in ops]
        reply = await self.call("/v3/kv/txn", {"compare": compare, "success": success})
        if "error" in reply:
            raise Unavailable(f"the cluster store refused a transaction: {reply['error']}")
        if not reply.get("succeeded"):
            keys = ", ".join(op.key for op in ops if op.expect_rev is not None)
            raise CasFailed(f"one of {keys} changed in the cluster store")
        return int(reply["header"]["revision"])

    def _request(self, op: Put | Delete, lease: int) -> dict[str, Any]:
        if isinstance(op, Put):
            put: dict[str, Any] = {"key": b64(self.key(op.key)), "value": b64(op.value)}
            if lease:
                put["lease"] = str(lease)
            return {"request_put": put}
        return {"request_delete_range": {"key": b64(self.key(op.key))}}

    def watch(self, prefix: str, start_revision: int | None = None) -> AsyncIterator[WatchEvent]:
        """Changes under `prefix` after the newest revision this client has seen (or from
        `start_revision`); the stream opens at once, in the background."""
        start = start_revision if start_revision is not None else self.revision + 1
        return EtcdWatch(self, prefix, start)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # ---- leases ----------------------------------------------------------------------------

    async def grant(self, ttl: int) -> int:
        reply = await self.call("/v3/lease/grant", {"TTL": str(ttl)})
        if "ID" not in reply:
            raise Unavailable(f"the cluster store granted no lease: {reply.get('error')}")
        return int(reply["ID"])

    async def keepalive(self, lease: int) -> int:
        """Refresh `lease`; return its remaining TTL (0: it expired, its keys are gone)."""
        reply = await self.call("/v3/lease/keepalive", {"ID": str(lease)})
        return int(reply.get("result", {}).get("TTL", 0))

    async def revoke(self, lease: int) -> None:
        await self.call("/v3/lease/revoke", {"ID": str(lease)})


class EtcdWatch:
    """An async iterator over one etcd watch stream; Unavailable when the stream breaks."""

    def __init__(self, store: EtcdStore, prefix: str, start: int) -> None:
        self.store = store
        self.prefix = prefix
        self._queue: asyncio.Queue[WatchEvent | Exception | None] = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(start))
        self._done = False

    def __aiter__(self) -> EtcdWatch:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._done:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            self._done = True
            raise StopAsyncIteration
        if isinstance(item, Exception):
            self._done = True
            raise item
        return item

    async def aclose(self) -> None:
        """Stop watching; a reader waiting for the next event sees the iteration end."""
        self._queue.put_nowait(None)
        self._task.cancel()
        try:
            await self._task
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
            pass

    async def _run(self, start: int) -> None:
        try:
            await self._stream(start)
            self._queue.put_nowait(Unavailable("the cluster store ended a watch"))
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
            self._queue.put_nowait(Unavailable(f"the cluster store watch broke: {exc}"))
        except Exception as exc:  # noqa: BLE001 - handed to the reader
            self._queue.put_nowait(exc)

    async def _stream(self, start: int) -> None:
        store = self.store
        full = store.key(self.prefix)
        body = {"create_request": {"key": b64(full), "range_end": range_end(full),
                                   "start_revision": str(start)}}
        url = store._urls[store._current]
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=store.config.timeout)
        async with store._client().post(url + "/v3/watch", json=body, timeout=timeout) as resp:
            async for line in resp.content:
                if line.strip():
                    self._handle(json.loads(line))

    def _handle(self, message: dict[str, Any]) -> None:
        result = message.get("result", message)
        if "error" in message or result.get("canceled") or result.get("compact_revision"):
            raise Unavailable(f"the cluster store cancelled a watch: {message}")
        ns = len(self.store.ns)
        for ev in result.get("events") or []:
            kv = ev["kv"]
            key = unb64(kv["key"]).decode()[ns:]
            rev = int(kv.get("mod_revision", 0))
            self.store.revision = max(self.store.revision, rev)
            if ev.get("type") == "DELETE":
                self._queue.put_nowait(WatchEvent(key, None, rev))
            else:
                self._queue.put_nowait(WatchEvent(key, unb64(kv.get("value")), rev))
