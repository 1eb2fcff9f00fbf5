"""libnftables through ctypes: the `nft` tool's own library, without a process per script.

One context serves the whole process, used from one dedicated worker thread: a libnftables
context is not thread-safe, and a transaction may wait on the kernel, which must not stall
the event loop. The thread never changes namespace, so scripts apply in the daemon's netns.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from concurrent.futures import ThreadPoolExecutor

SONAME = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4

_shared: "Libnftables | None | bool" = False  # False: not tried yet


class Libnftables:
    """A libnftables context with buffered output and errors, run on its own thread."""

    def __init__(self, lib: ctypes.CDLL, own_thread: bool = True) -> None:
        self._lib = lib
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for fn in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
        for fn in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
            getattr(lib, fn).restype = ctypes.c_char_p
        lib.nft_ctx_output_get_flags.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_output_get_flags.restype = ctypes.c_uint
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        self._ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT)
        if not self._ctx:
            raise OSError("nft_ctx_new failed")
        lib.nft_ctx_buffer_output(self._ctx)
        lib.nft_ctx_buffer_error(self._ctx)
        self._base_flags = lib.nft_ctx_output_get_flags(self._ctx)
        self._thread = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-nft")
                        if own_thread else None)

    def free(self) -> None:
        """Free a context made with own_thread=False (used once, on the caller's thread)."""
        self._lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        self._lib.nft_ctx_free(self._ctx)
        self._ctx = None

    def run_blocking(self, script: str, json_output: bool = False) -> tuple[int, str, str]:
        """(status, output, errors) of one script; runs on the context's thread only."""
        flags = self._base_flags | (NFT_CTX_OUTPUT_JSON if json_output else 0)
        self._lib.nft_ctx_output_set_flags(self._ctx, flags)
        status = self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode())
        out = self._lib.nft_ctx_get_output_buffer(self._ctx) or b""
        err = self._lib.nft_ctx_get_error_buffer(self._ctx) or b""
        return status, out.decode(errors="replace"), err.decode(errors="replace")

    async def run(self, script: str, *, json_output: bool = False) -> tuple[int, str, str]:
        """Run `script` on the context's thread; (status, output, errors)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self.run_blocking, script, json_output)


def shared() -> Libnftables | None:
    """The process's context, or None when libnftables is not installed (loaded once)."""
    global _shared
    if _shared is False:
        try:
            _shared = Libnftables(ctypes.CDLL(SONAME))
        except (OSError, AttributeError):
            _shared = None
    return _shared  # type: ignore[return-value]
