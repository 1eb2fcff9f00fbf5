"""Apply nftables scripts atomically with `nft -f -`; list and delete tables.

One script is one kernel transaction: either every command in it takes effect or none does.
"""

from __future__ import annotations

import asyncio
import json

from tether.errors import KernelError, Unavailable

NFT = "nft"


async def _run(args: list[str], stdin: str | None = None) -> str:
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
        lines = [ln for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        first = lines[0] if lines else f"nft exited with status {proc.returncode}"
        raise KernelError(f"nftables refused the ruleset: {first}")
    return out.decode()


async def apply(script: str) -> None:
    """Run `script` as one atomic nft transaction.

    Raises:
        KernelError: nft rejected it (the first line of nft's error is in the message).
    """
    await _run(["-f", "-"], script)


async def list_tables() -> list[tuple[str, str]]:
    """Return every (family, name) table in the daemon's netns."""
    data = json.loads(await _run(["-j", "list", "tables"]))
    return [
        (item["table"]["family"], item["table"]["name"])
        for item in data.get("nftables", [])
        if "table" in item
    ]


async def delete_table(family: str, name: str) -> None:
    """Delete table `family name`; an absent table is success (add-then-delete, atomically)."""
    await apply(f"add table {family} {name}\ndelete table {family} {name}\n")
