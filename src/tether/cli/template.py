"""A small, safe subset of Go's text/template, enough for docker's --format strings.

Supported: `{{.A.B}}`, `{{.}}`, `{{$v.A}}`, string/number literals, functions (json, printf,
index, len, join, lower, upper, title, split, println, truncate) with pipes `|`,
`{{range [$k, $v :=] PIPE}}…{{end}}`, `{{if PIPE}}…{{else}}…{{end}}`, `{{with}}`, and
`{{-`/`-}}` trimming. Values are printed the way Go prints them (`map[k:v]`, `[a b]`).
Nothing here evaluates Python: a template can only read the data it is given.
"""

from __future__ import annotations

import json
import re

from tether.errors import InvalidArgument

_ACTION = re.compile(r"{{(-\s)?(.*?)(\s-)?}}", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\$\w*(?:\.\w+)*|\.\w+(?:\.\w+)*|\.|\||:=|,|'
                    r"\(|\)|-?\d+(?:\.\d+)?|\w+")


class _Missing:
    def __str__(self) -> str:
        return "<no value>"


MISSING = _Missing()


def parse(text: str) -> list:
    """Parse a template into a tree of ("text", s) / ("act", pipe) / ("range"|"if"|"with", …)."""
    pieces = _lex(text)
    nodes, rest = _block(pieces, 0)
    if rest != len(pieces):
        raise InvalidArgument("template: unexpected {{end}}")
    return nodes


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(text):
        chunk = text[pos:m.start()]
        if m.group(1):
            chunk = chunk.rstrip()
        out.append(("text", chunk))
        out.append(("act", m.group(2).strip()))
        pos = m.end()
        if m.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip())
    out.append(("text", text[pos:]))
    return [p for p in out if p != ("text", "")]


def _block(pieces: list, i: int) -> tuple[list, int]:
    nodes: list = []
    while i < len(pieces):
        kind, body = pieces[i]
        word = body.split(None, 1)[0] if kind == "act" and body else ""
        if kind == "text":
            nodes.append(("text", body))
        elif word in ("end", "else"):
            return nodes, i
        elif word in ("range", "if", "with"):
            node, i = _control(pieces, i, word, body[len(word):].strip())
            nodes.append(node)
            continue
        elif body.startswith("/*"):
            pass
        else:
            nodes.append(("act", _pipeline(body)))
        i += 1
    return nodes, i


def _control(pieces: list, i: int, word: str, head: str) -> tuple[tuple, int]:
    names: list[str] = []
    if ":=" in head:
        left, head = head.split(":=", 1)
        names = [n.strip() for n in left.split(",")]
    body, i = _block(pieces, i + 1)
    other: list = []
    if i < len(pieces) and pieces[i][1] == "else":
        other, i = _block(pieces, i + 1)
    if i >= len(pieces) or pieces[i][1] != "end":
        raise InvalidArgument(f"template: unexpected EOF in {word}")
    return (word, names, _pipeline(head.strip()), body, other), i + 1


def _pipeline(text: str) -> list[list[str]]:
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise InvalidArgument(f"template: missing value for command in {{{{{text}}}}}")
    cmds, cur = [], []
    for tok in tokens:
        if tok == "|":
            cmds.append(cur)
            cur = []
        else:
            cur.append(tok)
    cmds.append(cur)
    return cmds


def render(tree: list, data, variables: dict | None = None) -> str:
    """Execute a parsed template against `data` (dicts, lists and scalars)."""
    scope = {"$": data, **(variables or {})}
    return "".join(_exec(tree, data, scope))


def _exec(nodes: list, dot, scope: dict):
    for node in nodes:
        kind = node[0]
        if kind == "text":
            yield node[1]
        elif kind == "act":
            yield gostr(_eval_pipe(node[1], dot, scope))
        elif kind == "range":
            yield from _range(node, dot, scope)
        else:
            _, names, pipe, body, other = node
            value = _eval_pipe(pipe, dot, scope)
            inner = dict(scope, **({names[0]: value} if names else {}))
            if _truthy(value):
                yield from _exec(body, value if kind == "with" else dot, inner)
            else:
                yield from _exec(other, dot, scope)


def _range(node: tuple, dot, scope: dict):
    _, names, pipe, body, other = node
    value = _eval_pipe(pipe, dot, scope)
    items = sorted(value.items()) if isinstance(value, dict) else \
        list(enumerate(value or []))
    if not items:
        yield from _exec(other, dot, scope)
    for key, item in items:
        inner = dict(scope)
        if len(names) == 2:
            inner[names[0]], inner[names[1]] = key, item
        elif names:
            inner[names[0]] = item
        yield from _exec(body, item, inner)


def _eval_pipe(cmds: list[list[str]], dot, scope: dict):
    value = MISSING
    for idx, cmd in enumerate(cmds):
        extra = [value] if idx else []
        value = _eval_cmd(cmd, extra, dot, scope)
    return value


def _eval_cmd(cmd: list[str], extra: list, dot, scope: dict):
    head = cmd[0]
    if head in FUNCS:
        args = [_eval_arg(t, dot, scope) for t in cmd[1:]] + extra
        return FUNCS[head](*args)
    if len(cmd) > 1 or extra:
        raise InvalidArgument(f"template: can't give argument to non-function {head}")
    return _eval_arg(head, dot, scope)


def _eval_arg(tok: str, dot, scope: dict):
    if tok.startswith('"'):
        return json.loads(tok)
    if tok.startswith("`"):
        return tok[1:-1]
    if tok[0].isdigit() or tok[0] == "-":
        return float(tok) if "." in tok else int(tok)
    if tok in ("true", "false"):
        return tok == "true"
    if tok == "nil":
        return None
    if tok.startswith("$"):
        name, _, path = tok.partition(".")
        if name not in scope:
            raise InvalidArgument(f"template: undefined variable {name!r}")
        return _field(scope[name], path)
    if tok.startswith("."):
        return _field(dot, tok[1:])
    raise InvalidArgument(f'template: function "{tok}" not defined')


def _field(value, path: str):
    for name in filter(None, path.split(".")):
        if isinstance(value, dict):
            value = value.get(name, MISSING) if name in value else _missing(value, name)
        else:
            raise InvalidArgument(f"template: can't evaluate field {name} in type "
                                  f"{_gotype(value)}")
    return value


def _missing(value: dict, name: str):
    return MISSING


def _gotype(value) -> str:
    return {str: "string", bool: "bool", int: "int", list: "[]interface {}",
            type(None): "interface {}"}.get(type(value), "interface {}")


def _truthy(value) -> bool:
    return value is not MISSING and bool(value)


def gostr(value) -> str:
    """Print a value the way Go's fmt prints decoded JSON."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{gostr(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(gostr(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json(value) -> str:
    if value is MISSING:
        value = None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _printf(fmt: str, *args) -> str:
    """Go's printf for the verbs formats use: %s %d %v %q and widths like %.12s."""
    it = iter(args)

    def one(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        spec, verb = m.group(1), m.group(2)
        arg = next(it, MISSING)
        if verb == "q":
            return json.dumps(gostr(arg))
        if verb == "d":
            return ("%" + spec + "d") % int(arg)
        return ("%" + spec + "s") % gostr(arg)

    return re.sub(r"%%|%([-+ 0#]*\d*(?:\.\d+)?)([svdq])", one, fmt)


FUNCS = {
    "json": _json, "printf": _printf, "print": lambda *a: "".join(gostr(x) for x in a),
    "println": lambda *a: " ".join(gostr(x) for x in a) + "\n",
    "index": lambda v, *keys: _index(v, keys), "len": lambda v: len(v or ()),
    "join": lambda v, sep: sep.join(gostr(x) for x in v or []),
    "split": lambda s, sep: s.split(sep), "lower": lambda s: gostr(s).lower(),
    "upper": lambda s: gostr(s).upper(), "title": lambda s: gostr(s).title(),
    "truncate": lambda s, n: gostr(s)[:n], "pad": lambda s, a, b: " " * a + gostr(s) + " " * b,
    "eq": lambda a, *b: any(a == x for x in b), "ne": lambda a, b: a != b,
    "not": lambda a: not _truthy(a), "or": lambda *a: next((x for x in a if _truthy(x)), a[-1]),
    "and": lambda *a: next((x for x in a if not _truthy(x)), a[-1]),
}


def _index(value, keys):
    for key in keys:
        value = value.get(key, MISSING) if isinstance(value, dict) else value[key]
    return value
