"""`tether compose [-f FILE]... [-p NAME] COMMAND`: compose projects against tetherd.

Parsing and planning are pure (`tether.compose.load`, `.plan`); this module reads the
daemon's state, prints or executes the plan, and maps flags to calls.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tether.cli.args import Parser, multi, write

USAGE = """Usage:  tether compose [-f FILE]... [-p NAME] [--project-directory DIR] COMMAND

Define and run multi-container applications (compose files) on tetherd

Commands:
  up        Create networks and containers, and start them (-d, --force-recreate,
            --no-recreate, --no-deps, --always-recreate-deps, --no-start,
            --remove-orphans, -t, --dry-run)
  down      Stop and remove containers and project networks (never external ones)
  ps        List the project's containers
  logs      Show the containers' output (-f, --tail N, -t)
  start     Start existing containers
  stop      Stop running containers (-t SECONDS)
  restart   Stop, then start, containers
  config    Validate the files and print the resolved project (--services, --networks,
            -q, --hash SERVICE)
"""


def main(ctx, argv: list[str]) -> int:
    top = Parser("compose")
    multi(top, "-f", "--file", dest="files")
    top.add_argument("-p", "--project-name")
    top.add_argument("--project-directory")
    top.add_argument("command", nargs="?")
    top.add_argument("args", nargs="...")
    a = top.parse_args(argv)
    commands = {"up": up, "down": down, "ps": ps, "logs": logs, "start": start, "stop": stop,
                "restart": restart, "config": config}
    if a.command not in commands:
        write(USAGE)
        return 0 if a.command in (None, "help") else 1
    from tether.compose.load import load_project

    cwd = Path(a.project_directory or os.getcwd())
    project, _ = load_project(a.files, a.project_name, os.environ, cwd)
    return commands[a.command](ctx, project, a.args)


def up(ctx, project, argv: list[str]) -> int:
    p = Parser("compose up")
    p.add_argument("-d", "--detach", action="store_true")
    p.add_argument("--force-recreate", action="store_true")
    p.add_argument("--no-recreate", action="store_true")
    p.add_argument("--no-deps", action="store_true")
    p.add_argument("--always-recreate-deps", action="store_true")
    p.add_argument("--no-start", action="store_true")
    p.add_argument("--remove-orphans", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("-t", "--timeout", type=int)
    p.add_argument("services", nargs="*")
    a = p.parse_args(argv)
    from tether.compose import plan, render, run

    state = run.read_state(ctx.client, project)
    actions = plan.plan_up(project, state, a.services, force_recreate=a.force_recreate,
                           no_recreate=a.no_recreate, no_deps=a.no_deps,
                           always_recreate_deps=a.always_recreate_deps, no_start=a.no_start)
    if a.remove_orphans:
        known = {s.name for s in project.services}
        orphans = [c for c in state.containers if c.service not in known]
        actions = [plan.StopContainer(c) for c in orphans if c.running] + \
                  [plan.RemoveContainer(c) for c in orphans] + actions
    if a.dry_run:
        write(render.plan_lines(actions))
        return 0
    run.execute(ctx.client, project, actions, timeout=a.timeout)
    if a.detach or a.no_start:
        return 0
    return _attach_until_interrupted(ctx, project, a.services)


def _attach_until_interrupted(ctx, project, services: list[str]) -> int:
    """Without -d, follow the output as compose does; Ctrl-C stops the containers."""
    from tether.compose import plan, run

    try:
        _follow(ctx, project, services, tail=None)
    except KeyboardInterrupt:
        sys.stdout.write("Gracefully stopping... (press Ctrl+C again to force)\n")
        state = run.read_state(ctx.client, project)
        run.execute(ctx.client, project, plan.plan_stop(project, state, services))
    return 0


def down(ctx, project, argv: list[str]) -> int:
    p = Parser("compose down")
    p.add_argument("--remove-orphans", action="store_true")
    p.add_argument("-v", "--volumes", action="store_true", help="accepted: tether makes no volumes")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("-t", "--timeout", type=int)
    a = p.parse_args(argv)
    from tether.compose import plan, render, run

    actions = plan.plan_down(project, run.read_state(ctx.client, project), a.remove_orphans)
    if a.dry_run:
        write(render.plan_lines(actions))
    else:
        run.execute(ctx.client, project, actions, timeout=a.timeout)
    return 0


def _simple(name: str, planner, argv: list[str], ctx, project) -> int:
    p = Parser(f"compose {name}")
    p.add_argument("-t", "--timeout", type=int)
    p.add_argument("services", nargs="*")
    a = p.parse_args(argv)
    from tether.compose import run

    actions = planner(project, run.read_state(ctx.client, project), a.services)
    run.execute(ctx.client, project, actions, timeout=a.timeout)
    return 0


def start(ctx, project, argv: list[str]) -> int:
    from tether.compose.plan import plan_start

    return _simple("start", plan_start, argv, ctx, project)


def stop(ctx, project, argv: list[str]) -> int:
    from tether.compose.plan import plan_stop

    return _simple("stop", plan_stop, argv, ctx, project)


def restart(ctx, project, argv: list[str]) -> int:
    from tether.compose.plan import plan_start, plan_stop

    _simple("stop", plan_stop, argv, ctx, project)
    return _simple("start", plan_start, argv, ctx, project)


def ps(ctx, project, argv: list[str]) -> int:
    p = Parser("compose ps")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--services", dest="list_services", action="store_true")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("services", nargs="*")
    a = p.parse_args(argv)
    if a.list_services:
        write("".join(s.name + "\n" for s in project.services))
        return 0
    from tether.compose.render import ps_table

    rows = _containers(ctx, project, a.services)
    if a.quiet:
        write("".join(r["Id"] + "\n" for r in rows))
    else:
        write(ps_table(rows))
    return 0


def _containers(ctx, project, services: list[str]) -> list[dict]:
    filters = [f"label=com.docker.compose.project={project.name}",
               "label=com.docker.compose.oneoff=False"]
    rows = ctx.client.list_containers(all=True, filters=filters)
    wanted = {project.service(s).name for s in services}
    return [r for r in rows if not wanted
            or (r.get("Labels") or {}).get("com.docker.compose.service") in wanted]


def logs(ctx, project, argv: list[str]) -> int:
    p = Parser("compose logs")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("--tail")
    p.add_argument("-t", "--timestamps", action="store_true")
    p.add_argument("--no-color", action="store_true")
    p.add_argument("services", nargs="*")
    a = p.parse_args(argv)
    if a.follow:
        _follow(ctx, project, a.services, tail=a.tail, timestamps=a.timestamps)
        return 0
    rows = sorted(_containers(ctx, project, a.services), key=lambda r: r["Names"][0])
    width = max((len(r["Names"][0]) - 1 for r in rows), default=0)
    for row in rows:
        _print_frames(ctx.client.logs(row["Id"], tail=a.tail, timestamps=a.timestamps),
                      row["Names"][0].lstrip("/"), width)
    return 0


def _follow(ctx, project, services: list[str], tail, timestamps: bool = False) -> None:
    """One thread per container prints its prefixed lines; returns when all streams end."""
    import threading

    rows = _containers(ctx, project, services)
    width = max((len(r["Names"][0]) - 1 for r in rows), default=0)
    threads = [threading.Thread(target=_print_frames, daemon=True, args=(
        ctx.client.logs(r["Id"], follow=True, tail=tail, timestamps=timestamps),
        r["Names"][0].lstrip("/"), width)) for r in rows]
    for t in threads:
        t.start()
    for t in threads:
        while t.is_alive():
            t.join(0.5)


def _print_frames(frames, name: str, width: int) -> None:
    pending = b""
    for _stream, data in frames:
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            sys.stdout.write(f"{name:<{width}} | {line.decode(errors='replace')}\n")
        sys.stdout.flush()
    if pending:
        sys.stdout.write(f"{name:<{width}} | {pending.decode(errors='replace')}\n")


def config(ctx, project, argv: list[str]) -> int:
    p = Parser("compose config")
    p.add_argument("--services", dest="list_services", action="store_true")
    p.add_argument("--networks", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--hash")
    a = p.parse_args(argv)
    from tether.compose import render

    if a.quiet:
        return 0
    if a.list_services:
        write("".join(s.name + "\n" for s in project.services))
    elif a.networks:
        write("".join(k + "\n" for k in project.networks))
    elif a.hash:
        return _hashes(ctx, project, a.hash)
    else:
        write(render.config_yaml(project))
    return 0


def _hashes(ctx, project, which: str) -> int:
    """`--hash '*'` or `--hash a,b`: the config hash each service's container would carry."""
    from tether.compose.confighash import config_hash
    from tether.compose.run import _image_id

    names = [s.name for s in project.services] if which == "*" else which.split(",")
    for name in names:
        svc = project.service(name)
        digest = config_hash(svc, project.networks, _image_id(ctx.client, svc.image))
        write(f"{svc.name} {digest}\n")
    return 0
