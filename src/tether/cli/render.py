"""Docker's output shapes: tab-aligned tables, --format templates, indented inspect JSON."""

from __future__ import annotations

import json


def tabwrite(lines: list[str], minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated cells like Go's tabwriter(minwidth 10, padding 3) in docker.

    Every cell followed by a tab is padded to its column's width; the last cell is not.
    """
    rows = [line.split("\t") for line in lines]
    widths: dict[int, int] = {}
    for cells in rows:
        for col, cell in enumerate(cells[:-1]):
            widths[col] = max(widths.get(col, minwidth), len(cell) + padding)
    out = []
    for cells in rows:
        padded = [cell.ljust(widths[col]) for col, cell in enumerate(cells[:-1])]
        out.append("".join(padded) + cells[-1])
    return "".join(line + "\n" for line in out)


def unescape(fmt: str) -> str:
    """Docker turns the two characters `\\t` and `\\n` of a --format into tab and newline."""
    return fmt.replace("\\t", "\t").replace("\\n", "\n")


def listing(quiet: bool, fmt: str | None, rows: list[dict], headers: dict[str, str],
            default: str) -> str:
    """What `ls`/`ps` print: the IDs alone with -q (each once), else `format_list`."""
    if quiet:
        return "".join(dict.fromkeys(r["ID"] + "\n" for r in rows))
    return format_list(fmt, rows, headers, default)


def format_list(fmt: str | None, contexts: list[dict], headers: dict[str, str],
                default: str) -> str:
    """Render `ls`/`ps` output: a table when the format starts with "table", else one line
    per object; `json` prints each context as a JSON object."""
    from tether.cli.template import parse, render

    fmt = fmt or default
    if fmt == "json":
        return "".join(json.dumps(c, separators=(",", ":")) + "\n" for c in contexts)
    if fmt.startswith("table"):
        body = unescape(fmt[len("table"):].strip()) or unescape(default[len("table"):].strip())
        tree = parse(body)
        head = {k: headers.get(k, k.upper()) for k in (contexts[0] if contexts else headers)}
        head.update(headers)
        lines = [render(tree, head)] + [render(tree, c) for c in contexts]
        return tabwrite(lines)
    tree = parse(unescape(fmt))
    return "".join(render(tree, c) + "\n" for c in contexts)


def inspect_output(objects: list, fmt: str | None) -> str:
    """`inspect`: a JSON array indented by 4, or the template applied to each object."""
    if not fmt:
        return json.dumps(objects, indent=4, ensure_ascii=False) + "\n"
    from tether.cli.template import parse, render

    tree = parse(unescape(fmt) if fmt != "json" else "{{json .}}")
    return "".join(render(tree, obj) + "\n" for obj in objects)
