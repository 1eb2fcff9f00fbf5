"""Headless Chromium driven over the DevTools protocol: open a page, evaluate, screenshot.

Debian's `chromium` runs here as root, so with --no-sandbox; its profile lives in a
temporary directory and the process is killed by its own handle when the test ends.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import aiohttp

LISTENING = re.compile(r"DevTools listening on (ws://[^\s]+)")


class Browser:
    def __init__(self, profile: Path, width: int = 1280, height: int = 800) -> None:
        exe = shutil.which("chromium")
        if exe is None:
            import pytest

            pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
        self.size = (width, height)
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ids = itertools.count(1)
        self.session: aiohttp.ClientSession | None = None
        self.ws = None

    async def open(self, url: str) -> None:
        port = await asyncio.to_thread(self._devtools_port)
        self.session = aiohttp.ClientSession()
        async with self.session.put(f"http://127.0.0.1:{port}/json/new?about:blank") as r:
            target = await r.json()
        self.ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        width, height = self.size
        await self.call("Emulation.setDeviceMetricsOverride",
                        width=width, height=height, deviceScaleFactor=1, mobile=False)
        await self.call("Page.enable")
        await self.call("Page.navigate", url=url)

    def _devtools_port(self) -> int:
        for line in self.proc.stderr:
            if m := LISTENING.search(line):
                return int(m.group(1).split(":")[2].split("/")[0])
        raise RuntimeError("chromium exited before DevTools listened")

    async def call(self, method: str, **params):
        ident = next(self.ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 15.0):
        """Poll `expression` until it is truthy; return its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            await asyncio.sleep(0.1)

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()
