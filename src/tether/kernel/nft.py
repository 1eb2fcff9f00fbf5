"""Apply nftables scripts atomically; list and delete tables.

One script is one kernel transaction: either every command in it takes effect or none does.
Scripts run in-process through libnftables (Debian's libnftables1) when it loads: spawning
`nft` cost 10-20 ms a call here, most of it process start-up, against well under 1 ms in
process. Without the library, or with TETHER_NFT=subprocess, the same text goes to `nft -f -`.
"""

from __future__ import annotations

import asyncio
import json
import os

from tether.errors import KernelError, Unavailable
from tether.kernel import libnftables

NFT = "nft"


def backend() -> str:
    """"libnftables" or "subprocess": how scripts are applied in this process."""
    if os.environ.get("TETHER_NFT") == "subprocess" or libnftables.shared() is None:
        return "subprocess"
    return "libnftables"


def _refused(err: str, status: int) -> KernelError:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    first = lines[0] if lines else f"nft exited with status {status}"
    return KernelError(f"nftables refused the ruleset: {first}")


async def _spawn(args: list[str], stdin: str | None = None) -> str:
    try:
        proc = await asyncio.create_subprocess_exec(
            NFT, *args,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise Unavailable("the nft command is not installed") from exc
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise _refused(err.decode(errors="replace"), proc.returncode or 1)
    return out.decode()


async def _run(script: str, *, json_output: bool = False) -> str:
    """Run `script` with the in-process library, or with the nft tool as a fallback."""
    lib = libnftables.shared() if backend() == "libnftables" else None
    if lib is None:
        if json_output:  # `nft -j -f -` prints nothing for a listing: pass it as arguments
            return await _spawn(["-j", *script.split()])
        return await _spawn(["-f", "-"], script)
    status, out, err = await lib.run(script, json_output=json_output)
    if status != 0:
        raise _refused(err, status)
    return out


async def apply(script: str) -> None:
    """Run `script` as one atomic nftables transaction.

    Raises:
        KernelError: nftables rejected it (the first line of its error is in the message).
    """
    await _run(script)


async def list_tables() -> list[tuple[str, str]]:
    """Return every (family, name) table in the daemon's netns."""
    data = json.loads(await _run("list tables", json_output=True) or "{}")
    return [
        (item["table"]["family"], item["table"]["name"])
        for item in data.get("nftables", [])
        if "table" in item
    ]


async def delete_table(family: str, name: str) -> None:
    """Delete table `family name`; an absent table is success (add-then-delete, atomically)."""
    await apply(f"add table {family} {name}\ndelete table {family} {name}\n")
