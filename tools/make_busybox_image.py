#!/usr/bin/env python3
"""Build the busybox rootfs tarball that tests and the demo import as `busybox:local`.

    tools/make_busybox_image.py OUT.tar [--busybox PATH]
    tether image import OUT.tar busybox:local --change 'CMD ["sh"]'

It is the image the real Docker reference recordings used (docker import of Debian's
busybox-static): bin/busybox, one symlink per applet in bin/, etc/passwd, etc/group, tmp/ and
var/www/index.html for `httpd -f -p 80 -h /var/www`. Entries are sorted and dated 0, so the
same busybox always gives the same bytes.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")
INDEX_HTML = b"hello from tether\n"
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"
DIRS = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "proc": 0o755, "root": 0o700,
        "sys": 0o755, "tmp": 0o1777, "var": 0o755, "var/www": 0o755}


def find_busybox() -> Path:
    for c in CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    sys.exit("make_busybox_image: no busybox found; install Debian's busybox-static")


def applets(busybox: Path) -> list[str]:
    out = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    return sorted({a for a in out.stdout.split() if a and "/" not in a and a != "busybox"})


def _info(name: str, kind: bytes, mode: int, size: int = 0, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, link
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    return info


def build(out: Path, busybox: Path) -> Path:
    """Write the rootfs tarball to `out` (atomically) and return it."""
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
        for name, mode in sorted(DIRS.items()):
            tar.addfile(_info(name, tarfile.DIRTYPE, mode))
        data = busybox.read_bytes()
        tar.addfile(_info("bin/busybox", tarfile.REGTYPE, 0o755, len(data)), io.BytesIO(data))
        for applet in applets(busybox):
            tar.addfile(_info(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox"))
        for name, content in (("etc/passwd", PASSWD), ("etc/group", GROUP),
                              ("var/www/index.html", INDEX_HTML)):
            tar.addfile(_info(name, tarfile.REGTYPE, 0o644, len(content)), io.BytesIO(content))
    shutil.move(tmp, out)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="where to write the tarball")
    p.add_argument("--busybox", type=Path, default=None, help="a static busybox binary")
    args = p.parse_args(argv)
    build(args.out, args.busybox or find_busybox())
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
