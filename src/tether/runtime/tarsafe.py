"""Extract an image tarball so that nothing in it can reach outside the image's root.

The rules (each entry is judged on its own, then placed by resolving its parents inside the
root, so a symlink planted earlier cannot redirect a later entry onto the host):
- names are made relative ("/etc/x" -> "etc/x"); names escaping with ".." are dropped;
- hard links must name a path inside the archive's root, or are dropped;
- symlinks are kept verbatim: they are resolved inside the container, never on the host;
- character and block devices are dropped (runc makes the container's /dev);
- an existing non-directory at an entry's place is removed first, so extraction never
  writes through a symlink.
"""

from __future__ import annotations

import copy
import os
import posixpath
import shutil
import tarfile

from tether.errors import InvalidArgument
from tether.runtime.rootfs import resolve_in_root


def clean_name(name: str) -> str | None:
    """The archive path `name` relative to the root, or None when it escapes or is the root."""
    rel = posixpath.normpath(name.lstrip("/"))
    if rel in (".", "") or rel == ".." or rel.startswith("../"):
        return None
    return rel


# Entries are made safe by plan_member; tell Pythons that have extraction filters (3.11.4+)
# not to second-guess that, and older ones (Debian 12's 3.11.2) nothing.
TRUSTED = ({"filter": tarfile.fully_trusted_filter}
           if hasattr(tarfile, "fully_trusted_filter") else {})


def plan_member(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """Return the entry rewritten to its safe place under `dest`, or None to drop it."""
    if member.ischr() or member.isblk():
        return None
    name = clean_name(member.name)
    if name is None:
        return None
    real = resolve_in_root(dest, name, follow_last=False)
    safe = copy.copy(member)  # TarInfo.replace() is missing from Debian 12's Python 3.11.2
    safe.name = os.path.relpath(real, dest)
    if member.islnk():
        link = clean_name(member.linkname)
        if link is None:
            return None
        safe.linkname = os.path.relpath(resolve_in_root(dest, link, follow_last=False), dest)
    return safe


def _make_room(dest: str, member: tarfile.TarInfo) -> None:
    """Remove what stands where `member` goes (unless both are directories); make parents."""
    path = os.path.join(dest, member.name)
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path) and not member.isdir():
        shutil.rmtree(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)


def extract(archive: str, dest: str) -> int:
    """Extract `archive` (plain, gzip, bzip2 or xz: detected) into `dest`; return its size.

    Runs blocking I/O: call it through `asyncio.to_thread`.

    Raises:
        InvalidArgument: the data is not a tar archive.
    """
    size = 0
    try:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                safe = plan_member(member, dest)
                if safe is None:
                    continue
                _make_room(dest, safe)
                try:
                    tf.extract(safe, dest, set_attrs=True, numeric_owner=True, **TRUSTED)
                except KeyError:  # a hard link to an entry the archive does not hold
                    continue
                size += member.size if member.isreg() else 0
    except tarfile.TarError as exc:
        raise InvalidArgument(f"the image is not a valid tar archive: {exc}") from exc
    return size
