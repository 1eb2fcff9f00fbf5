"""Images as Docker JSON (what compose's `GET /images/{name}/json` reads), and import args."""

from __future__ import annotations

from typing import Any

from tether.api.humanize import parse_time
from tether.errors import InvalidArgument
from tether.model import Image

Version = tuple[int, int]


def familiar(repo: str) -> str:
    """A repository as dockerd shows it: docker CLI 28 sends `docker.io/library/busybox`
    for `busybox`, and `docker.io/me/app` for `me/app`."""
    for prefix in ("docker.io/", "index.docker.io/"):
        if repo.startswith(prefix):
            rest = repo[len(prefix):]
            official = rest.startswith("library/") and rest.count("/") == 1
            return rest.removeprefix("library/") if official else rest
    return repo


def import_tags(repo: str, tag: str) -> tuple[str, ...]:
    """`repo=busybox:local` or `repo=busybox&tag=local` -> ("busybox:local",); none -> ()."""
    repo = familiar(repo)
    if not repo:
        if tag:
            raise InvalidArgument("a tag was given without a repository name")
        return ()
    last = repo.rsplit("/", 1)[-1]
    if tag:
        if ":" in last:
            raise InvalidArgument(f"invalid reference: {repo} already has a tag")
        return (f"{repo}:{tag}",)
    return (repo if ":" in last else f"{repo}:latest",)


def _image_config(img: Image) -> dict[str, Any]:
    return {
        "Hostname": "", "Domainname": "", "User": img.user, "AttachStdin": False,
        "AttachStdout": False, "AttachStderr": False,
        "ExposedPorts": {p: {} for p in img.exposed_ports} or None,
        "Tty": False, "OpenStdin": False, "StdinOnce": False,
        "Env": list(img.env) or None, "Cmd": list(img.cmd) or None, "Image": "",
        "Volumes": None, "WorkingDir": img.working_dir,
        "Entrypoint": list(img.entrypoint) if img.entrypoint is not None else None,
        "OnBuild": None, "Labels": dict(img.labels) or None,
    }


def render_image(img: Image, version: Version) -> dict[str, Any]:
    """`GET /images/{name}/json`."""
    out: dict[str, Any] = {
        "Id": img.id, "RepoTags": list(img.repo_tags), "RepoDigests": [], "Parent": "",
        "Comment": img.comment, "Created": img.created, "Container": "",
        "ContainerConfig": _image_config(img), "DockerVersion": "", "Author": "",
        "Config": _image_config(img), "Architecture": "amd64", "Os": "linux",
        "Size": img.size,
    }
    if version < (1, 44):
        out["VirtualSize"] = img.size
    out.update({
        "GraphDriver": {"Data": None, "Name": "overlay2"},
        "RootFS": {"Type": "layers", "Layers": [img.id]},
        "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"},
    })
    return out


def render_image_summary(img: Image, version: Version) -> dict[str, Any]:
    """One `GET /images/json` entry (`docker images`)."""
    out: dict[str, Any] = {
        "Containers": -1, "Created": int(parse_time(img.created) or 0), "Id": img.id,
        "Labels": dict(img.labels) or None, "ParentId": "",
        "RepoDigests": [] if img.repo_tags else ["<none>@<none>"],
        "RepoTags": list(img.repo_tags) or ["<none>:<none>"], "SharedSize": -1,
        "Size": img.size,
    }
    if version < (1, 44):
        out["VirtualSize"] = img.size
    return out
