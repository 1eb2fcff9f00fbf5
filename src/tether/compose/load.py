"""Read compose files: YAML with line numbers, interpolation, schema validation, merging.

Every error names the file, the path inside the document and the line, because a compose
file is edited by hand and "invalid" alone sends the user hunting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from tether.errors import InvalidArgument

SCHEMA_PATH = Path(__file__).with_name("compose-spec.json")
Marks = dict[tuple, int]


@dataclass(frozen=True)
class Document:
    """One parsed compose file: its data, and the line of every path in it."""

    path: Path
    data: dict
    marks: Marks

    def where(self, path: tuple) -> str:
        """`file, path a.b.c, line N` for the deepest part of `path` with a known line."""
        dotted = ".".join(str(p) for p in path) or "(top level)"
        for depth in range(len(path), -1, -1):
            if path[:depth] in self.marks:
                return f"{self.path}: {dotted}, line {self.marks[path[:depth]]}"
        return f"{self.path}: {dotted}"


def read_document(path: Path, env: Mapping[str, str]) -> Document:
    """Parse, interpolate and validate one file.

    Raises:
        InvalidArgument: YAML syntax (with line and column), a legacy version-1 file, a
            schema violation, or `build:`; each names the file, path and line.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidArgument(f"cannot read compose file {path}: {exc.strerror}") from None
    data, marks = parse_yaml(text, path)
    doc = Document(path, interpolate(data, env, ()), marks)
    check_legacy(doc)
    validate(doc)
    check_unsupported(doc)
    return doc


def parse_yaml(text: str, path: Path) -> tuple[dict, Marks]:
    """Return the document and the 1-based line of every mapping key and list item."""
    try:  # the reader refuses non-printable characters already in its constructor
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise InvalidArgument(_yaml_error(exc, path)) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        raise InvalidArgument(_yaml_error(exc, path)) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InvalidArgument(f"{path}: line 1: a compose file must be a mapping at the top level")
    marks: Marks = {(): 1}
    _collect_marks(node, (), marks)
    return data, marks


def _collect_marks(node, path: tuple, marks: Marks) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = path + (key.value,)
            marks.setdefault(sub, key.start_mark.line + 1)
            _collect_marks(value, sub, marks)
    elif isinstance(node, yaml.SequenceNode):
        for idx, item in enumerate(node.value):
            marks.setdefault(path + (idx,), item.start_mark.line + 1)
            _collect_marks(item, path + (idx,), marks)


def _yaml_error(exc: yaml.YAMLError, path: Path) -> str:
    """One sentence with the line; YAML's "unquoted colon" mistakes end up here."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
    text = f"{path}: {where}: invalid YAML: {problem}"
    cmark = getattr(exc, "context_mark", None)
    if context and cmark:
        text += f" ({context} at line {cmark.line + 1})"
    return text + " (quote values that contain a colon, and check the indentation)"


_VAR = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


def interpolate(value, env: Mapping[str, str], path: tuple):
    """Substitute `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
    `${VAR:+alt}` in every string; `$$` is a literal dollar, as in compose."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, path + (i,)) for i, v in enumerate(value)]
    if isinstance(value, str) and "$" in value:
        return _VAR.sub(lambda m: _substitute(m, env, path), value)
    return value


def _substitute(m: re.Match, env: Mapping[str, str], path: tuple) -> str:
    if m.group(1):
        return "$"
    if m.group(3):
        return env.get(m.group(3), "")
    braced = _BRACED.match(m.group(2))
    if braced is None:
        raise InvalidArgument(f"{'.'.join(map(str, path))}: invalid interpolation "
                              f"format: ${{{m.group(2)}}}")
    name, op, arg = braced.groups()
    value = env.get(name)
    unset = value is None or (op is not None and op.startswith(":") and value == "")
    if op in (":-", "-"):
        return arg if unset else value
    if op in (":?", "?") and unset:
        raise InvalidArgument(f"{'.'.join(map(str, path))}: required variable {name} "
                              f"is missing a value: {arg}")
    if op in (":+", "+"):
        return "" if unset else arg
    return value or ""


def check_legacy(doc: Document) -> None:
    """A version-1 file has its services at the top level and no networking at all."""
    if "services" in doc.data:
        return
    legacy = [k for k, v in doc.data.items()
              if isinstance(v, dict) and ("image" in v or "build" in v)]
    if legacy:
        raise InvalidArgument(
            f"{doc.where((legacy[0],))}: this is a legacy version 1 compose file (services at "
            f"the top level): version 1 has no networking (no project network, no service "
            f"names in DNS, no aliases); move the services under a top-level `services:` key")


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft7Validator(schema)


def validate(doc: Document) -> None:
    """Check the document against the compose specification's JSON schema; the first error
    (in document order) is reported with its path and line."""
    errors = list(_validator().iter_errors(_jsonable(doc.data)))
    if not errors:
        return
    err = min(errors, key=lambda e: _error_line(doc, e))
    path, message = _describe(err)
    raise InvalidArgument(f"{doc.where(path)}: {message}")


def _jsonable(value):
    """YAML allows non-string keys (a port `80:` key); the schema sees strings, as compose."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _error_line(doc: Document, err) -> int:
    path, _ = _describe(err)
    for depth in range(len(path), -1, -1):
        if path[:depth] in doc.marks:
            return doc.marks[path[:depth]]
    return 0


def _describe(err) -> tuple[tuple, str]:
    """The most useful (path, sentence) for a schema error: name an unexpected key itself."""
    path = tuple(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        patterns = [re.compile(p) for p in err.schema.get("patternProperties", {})]
        extra = [k for k in err.instance
                 if k not in allowed and not any(p.search(k) for p in patterns)]
        if extra:
            hint = _did_you_mean(extra[0], allowed)
            return path + (extra[0],), f"unknown key {extra[0]!r}{hint}"
    if err.validator in ("oneOf", "anyOf") and err.context:
        # the branch that got furthest into the document is the one the author meant
        best = max(err.context, key=lambda e: len(e.absolute_path))
        return _describe(best)
    return path, err.message


def _did_you_mean(key: str, allowed: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_unsupported(doc: Document) -> None:
    """tether runs images; it builds none."""
    for name, svc in (doc.data.get("services") or {}).items():
        if isinstance(svc, dict) and "build" in svc:
            raise InvalidArgument(
                f"{doc.where(('services', name, 'build'))}: `build:` is not supported: tether "
                f"builds no images; give service {name!r} an `image:` instead")


DEFAULT_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yaml", "compose.yml")
OVERRIDE_FILES = ("docker-compose.override.yml", "docker-compose.override.yaml",
                  "compose.override.yaml", "compose.override.yml")


def find_files(files: list[str], env: Mapping[str, str], cwd: Path) -> list[Path]:
    """`-f` files, else COMPOSE_FILE, else the first default file found in `cwd` or a parent
    (with its override file next to it), as compose looks for them.

    Raises:
        NotFound: no compose file.
    """
    from tether.errors import NotFound

    if files:
        return [Path(f) if f == "-" else (cwd / f) for f in files]
    if env.get("COMPOSE_FILE"):
        sep = env.get("COMPOSE_PATH_SEPARATOR", ":")
        return [cwd / f for f in env["COMPOSE_FILE"].split(sep) if f]
    for folder in [cwd, *cwd.parents]:
        for name in DEFAULT_FILES:
            if (folder / name).is_file():
                extra = [folder / o for o in OVERRIDE_FILES if (folder / o).is_file()][:1]
                return [folder / name, *extra]
    raise NotFound(f"Can't find a suitable configuration file in this directory or any "
                   f"parent. Are you in the right directory? Supported filenames: "
                   f"{', '.join(DEFAULT_FILES)}")


def load_project(files: list[str], name: str | None, env: Mapping[str, str], cwd: Path):
    """Find, read, validate and merge the files, then build the typed project.

    Returns:
        (Project, merged document) -- the document is what `config` prints.
    """
    from tether.compose.merge import merge_files
    from tether.compose.model import build_project, project_name

    paths = find_files(files, env, cwd)
    docs = [read_document(p, env) for p in paths]
    data = merge_files([d.data for d in docs])
    folder = str(paths[0].parent.resolve())
    pname = project_name(name, dict(env), data, folder)
    project = build_project(data, pname, folder, tuple(str(p) for p in paths), dict(env))
    return project, data
