"""Look things up inside a container's root filesystem without ever leaving it.

Symlinks in an image are meant to be resolved inside the container, so an absolute link
`/bin/sh -> /bin/busybox` must resolve to `<root>/bin/busybox`, never to the host's file.
"""

from __future__ import annotations

import os
import stat

from tether.errors import InvalidArgument

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_LINKS = 40


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve_in_root(root: str, path: str, *, follow_last: bool = True) -> str:
    """Return the host path of `path` seen from inside `root`, following symlinks within it.

    `..` stops at `root` and absolute link targets restart from `root`, as chroot does.
    Components that do not exist are kept as they are. Raises InvalidArgument on link loops.
    """
    todo, done, links = _parts(path), [], 0
    while todo:
        name = todo.pop(0)
        if name == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, name)
        if (todo or follow_last) and os.path.islink(host):
            links += 1
            if links > MAX_LINKS:
                raise InvalidArgument(f"too many levels of symbolic links in {path}")
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            todo = _parts(target) + todo
            continue
        done.append(name)
    return os.path.join(root, *done)


def _is_executable(host_path: str) -> bool:
    try:
        st = os.stat(host_path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)


def env_path(env: tuple[str, ...] | list[str]) -> str:
    """The PATH a process with `env` searches (the last PATH wins, as in execve's env)."""
    found = DEFAULT_PATH
    for item in env:
        if item.startswith("PATH="):
            found = item[5:]
    return found


def find_executable(root: str, cmd: str, env: tuple[str, ...] | list[str], cwd: str = "/") -> bool:
    """Say whether `cmd` would be found and executable inside `root` (execvp's rules)."""
    if "/" in cmd:
        inside = cmd if cmd.startswith("/") else os.path.join(cwd or "/", cmd)
        return _is_executable(resolve_in_root(root, inside))
    for directory in env_path(env).split(":"):
        if _is_executable(resolve_in_root(root, os.path.join(directory or ".", cmd))):
            return True
    return False


def not_found_message(cmd: str) -> str:
    """Docker's sentence for a command missing from the image."""
    where = "no such file or directory" if "/" in cmd else "executable file not found in $PATH"
    return f'exec: "{cmd}": {where}'


def _table(root: str, name: str) -> list[list[str]]:
    try:
        with open(resolve_in_root(root, f"/etc/{name}"), encoding="utf-8",
                  errors="replace") as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip()]
    except OSError:
        return []


def resolve_user(root: str, user: str) -> tuple[int, int]:
    """Turn Docker's `user[:group]` (names or numbers) into (uid, gid) using the image's files.

    Raises:
        InvalidArgument: a name is not in the image's /etc/passwd or /etc/group.
    """
    if not user:
        return 0, 0
    name, _, group = user.partition(":")
    uid, gid = _lookup(root, "passwd", name, user)
    if group:
        gid = _lookup(root, "group", group, user)[0]
    return uid, gid


def _lookup(root: str, table: str, name: str, user: str) -> tuple[int, int]:
    """(id, primary gid) of `name` in /etc/passwd or /etc/group; numbers need no entry."""
    rows = _table(root, table)
    for row in rows:
        if len(row) >= 3 and (row[0] == name or row[2] == name):
            gid = row[3] if table == "passwd" and len(row) > 3 else row[2]
            return int(row[2]), int(gid) if gid.isdigit() else 0
    if name.isdigit():
        return int(name), 0 if table == "passwd" else int(name)
    raise InvalidArgument(f"unable to find user {user}: no matching entries in {table} file")
