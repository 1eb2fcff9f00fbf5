"""Imported images: a root filesystem per image plus its config, and a tag index.

Layout under `<data_root>/images/`:
    <hex>/rootfs        the extracted root filesystem (overlay lower dir of its containers)
    <hex>/image.json    the config (everything but tags)
    tags.json           {"name:tag": "sha256:<hex>"}: one file, so moving a tag is one rename
    tmp/                imports in progress; emptied when the store opens

An image appears by renaming its finished directory into place, so a crash never leaves half
an image visible. The id is the sha256 of the canonical config JSON, which names the sha256 of
the uploaded bytes, as Docker's image id is the digest of its config.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import time
from typing import AsyncIterator, Sequence

from tether.errors import Conflict, NotFound
from tether.model import Image
from tether.runtime.changes import parse_changes
from tether.runtime.files import atomic_write_json, read_json
from tether.runtime.tarsafe import extract


def normalize_tag(ref: str) -> str:
    """"busybox" -> "busybox:latest"; a ":" before the last "/" is a registry port."""
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return f"{ref}:latest"
    return ref


def now_rfc3339() -> str:
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def image_to_json(image: Image) -> dict:
    data = dataclasses.asdict(image)
    data.pop("repo_tags")
    return data


def image_from_json(data: dict, repo_tags: tuple[str, ...]) -> Image:
    fields = {f.name for f in dataclasses.fields(Image)}
    data = {k: v for k, v in data.items() if k in fields}
    for key in ("cmd", "env", "exposed_ports"):
        data[key] = tuple(data.get(key) or ())
    if data.get("entrypoint") is not None:
        data["entrypoint"] = tuple(data["entrypoint"])
    return Image(**{**data, "repo_tags": repo_tags})


class ImageStore:
    """Images on disk, indexed in memory; mutations are serialised by one lock.

    The index is read once when the store is made (before the daemon serves), so `cached`
    and `count` answer without I/O.
    """

    def __init__(self, data_root: str) -> None:
        self.root = os.path.join(data_root, "images")
        self._lock = asyncio.Lock()
        shutil.rmtree(os.path.join(self.root, "tmp"), ignore_errors=True)
        os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
        self._tags: dict[str, str] = dict(read_json(self._tags_path()) or {})
        self._configs: dict[str, dict] = self._load_configs()

    # ---- reading ------------------------------------------------------------------------

    def _tags_path(self) -> str:
        return os.path.join(self.root, "tags.json")

    def _load_configs(self) -> dict[str, dict]:
        configs = {}
        for entry in os.listdir(self.root):
            if len(entry) != 64:
                continue
            data = read_json(os.path.join(self.root, entry, "image.json"))
            if isinstance(data, dict):
                configs[data["id"]] = data
        return configs

    def _image(self, image_id: str) -> Image:
        tags = tuple(sorted(t for t, i in self._tags.items() if i == image_id))
        return image_from_json(self._configs[image_id], tags)

    def cached(self, image_id: str) -> Image | None:
        return self._image(image_id) if image_id in self._configs else None

    def count(self) -> int:
        return len(self._configs)

    async def list(self) -> list[Image]:
        return [self._image(i) for i in self._configs]

    async def get(self, ref: str) -> Image:
        """Resolve a tag, "name" (":latest"), a full or short id, or a unique id prefix.

        Raises:
            NotFound: "No such image: REF".
        """
        return self._image(self._resolve(ref))

    def _resolve(self, ref: str) -> str:
        if ref in self._configs:
            return ref
        tag = normalize_tag(ref)
        if tag in self._tags and self._tags[tag] in self._configs:
            return self._tags[tag]
        prefix = ref.removeprefix("sha256:")
        if prefix and all(c in "0123456789abcdef" for c in prefix):
            hits = [i for i in self._configs if i[7:].startswith(prefix)]
            if len(hits) == 1:
                return hits[0]
        shown = ref if ref.startswith("sha256:") or ref in self._configs else tag
        raise NotFound(f"No such image: {shown}")

    def rootfs(self, image_id: str) -> str:
        return os.path.join(self.root, image_id.removeprefix("sha256:"), "rootfs")

    # ---- import -------------------------------------------------------------------------

    async def import_tarball(self, chunks: AsyncIterator[bytes], *, repo_tags: tuple[str, ...],
                             changes: Sequence[str], message: str = "") -> Image:
        """Do what `docker import` does: store the rootfs, apply the changes, tag it.

        Raises:
            InvalidArgument: a change is invalid or the data is not a (compressed) tarball.
        """
        config = parse_changes(list(changes))
        work = os.path.join(self.root, "tmp", secrets.token_hex(8))
        os.makedirs(os.path.join(work, "rootfs"))
        try:
            digest = await _spool(chunks, os.path.join(work, "layer.tar"))
            size = await asyncio.to_thread(extract, os.path.join(work, "layer.tar"),
                                           os.path.join(work, "rootfs"))
            os.unlink(os.path.join(work, "layer.tar"))
            data = {**dataclasses.asdict(config), "created": now_rfc3339(), "size": size,
                    "comment": message, "diff_id": f"sha256:{digest}"}
            image_id = "sha256:" + hashlib.sha256(
                json.dumps(data, sort_keys=True).encode()).hexdigest()
            data["id"] = image_id
            await asyncio.to_thread(self._publish, work, data)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        async with self._lock:
            self._configs[image_id] = data
            await self._retag({normalize_tag(t): image_id for t in repo_tags})
        return self._image(image_id)

    def _publish(self, work: str, data: dict) -> None:
        """Write the config, then rename the finished directory into place."""
        atomic_write_json(os.path.join(work, "image.json"), data)
        os.rename(work, os.path.join(self.root, data["id"].removeprefix("sha256:")))

    async def _retag(self, updates: dict[str, str | None]) -> None:
        """Point tags at images (None removes the tag) and persist the index atomically."""
        tags = {**self._tags, **updates}
        tags = {t: i for t, i in tags.items() if i is not None}
        await asyncio.to_thread(atomic_write_json, self._tags_path(), tags)
        self._tags = tags

    # ---- untag and remove ---------------------------------------------------------------

    async def untag(self, ref: str) -> str:
        """Remove the tag `ref` from its image; return the normalised tag."""
        async with self._lock:
            tag = normalize_tag(ref)
            if tag not in self._tags:
                raise NotFound(f"No such image: {tag}")
            await self._retag({tag: None})
            return tag

    async def tag(self, ref: str, new_tag: str) -> None:
        """Point `new_tag` at the image `ref` names (moving it off any other image)."""
        async with self._lock:
            await self._retag({normalize_tag(new_tag): self._resolve(ref)})

    async def remove(self, ref: str, *, in_use: bool = False, force: bool = False) -> list[dict]:
        """Do what `docker rmi` does; return Docker's list of {"Untagged"}/{"Deleted"}.

        Removing one of several tags only untags. An image a container uses is kept (its tags
        go only with force).

        Raises:
            NotFound: no such image. Conflict: in use, or tagged several times, without force.
        """
        async with self._lock:
            image_id = self._resolve(ref)
            tags = [t for t, i in self._tags.items() if i == image_id]
            by_tag = normalize_tag(ref) in tags and ref not in self._configs
            if by_tag and len(tags) > 1:
                await self._retag({normalize_tag(ref): None})
                return [{"Untagged": normalize_tag(ref)}]
            _check_removable(ref, image_id, tags, in_use=in_use, force=force, by_tag=by_tag)
            await self._retag({t: None for t in tags})
            report: list[dict] = [{"Untagged": t} for t in sorted(tags)]
            if in_use:
                return report
            del self._configs[image_id]
            await asyncio.to_thread(self._delete_dir, image_id)
            return report + [{"Deleted": image_id}]

    def _delete_dir(self, image_id: str) -> None:
        """Rename first so a crash mid-delete leaves only a tmp dir, swept at next open."""
        doomed = os.path.join(self.root, "tmp", "rm-" + secrets.token_hex(8))
        os.rename(os.path.join(self.root, image_id.removeprefix("sha256:")), doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def _check_removable(ref: str, image_id: str, tags: list[str], *, in_use: bool, force: bool,
                     by_tag: bool) -> None:
    short = image_id[7:19]
    if in_use and not force:
        what = f'repository reference "{ref}"' if by_tag else short
        raise Conflict(f"conflict: unable to remove {what} (must force) - image {short} is "
                       "being used by a container")
    if len(tags) > 1 and not force:
        raise Conflict(f"conflict: unable to delete {short} (must be forced) - image is "
                       "referenced in multiple repositories")


async def _spool(chunks: AsyncIterator[bytes], path: str) -> str:
    """Write the upload to `path` off the loop; return the sha256 hex of its bytes."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        async for chunk in chunks:
            digest.update(chunk)
            await asyncio.to_thread(f.write, chunk)
    return digest.hexdigest()
