"""The container monitor (runtime/monitor.py) with a stand-in for `runc run --detach`: it
forks the "container" (`sh -c BODY`), names it in init.pid, lingers, and exits without reaping
it, as runc does.

Real processes, no runc and no root: what is tested is the reaping, the exit codes, the order
of the files and the monitor's life; tests/integration/test_runtime.py runs it with runc.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from tether.errors import KernelError
from tether.runtime import monitor as monitor_script
from tether.runtime.shim import Monitor
from tests.integration.support import kernelstate

RUNC = """
import os, sys, time
directory, body, linger = sys.argv[1], sys.argv[2], float(sys.argv[3])
pid = os.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c", body])
with open(directory + "/init.pid.tmp", "w") as f:
    f.write(str(pid))
os.replace(directory + "/init.pid.tmp", directory + "/init.pid")
time.sleep(linger)
"""


def _monitor_pids(exec_root) -> list[int]:
    return sorted(kernelstate.monitors(exec_root))


@pytest.fixture
async def mon(tmp_path):
    m = Monitor(str(tmp_path))
    yield m
    await m.close()
    for pid in _monitor_pids(tmp_path):  # a failed test must not leave one running
        os.kill(pid, signal.SIGKILL)


def _dir(tmp_path, cid: str) -> str:
    d = tmp_path / cid
    d.mkdir()
    return str(d)


def _runc(d: str, body: str, linger: float = 0.0) -> list[str]:
    return [sys.executable, "-c", RUNC, d, body, str(linger)]


async def _run(mon, tmp_path, cid: str, body: str, linger: float = 0.0,
               after: list[str] | None = None) -> tuple[str, int]:
    d = _dir(tmp_path, cid)
    return d, await mon.launch(cid, d, _runc(d, body, linger), "0", after or [])


async def _code(mon, cid: str, d: str) -> int:
    code = await asyncio.wait_for(mon.wait(cid), 10)
    if code is None:  # it ended before we asked: the file says how
        code = int(open(os.path.join(d, "exit_code")).read())
    return code


async def test_exit_codes_of_detached_processes_are_recorded(mon, tmp_path):
    d, _ = await _run(mon, tmp_path, "a", "sleep 0.2; echo out; echo err >&2; exit 7")
    assert await _code(mon, "a", d) == 7
    assert open(os.path.join(d, "exit_code")).read() == "7\n"
    assert open(os.path.join(d, "stdout.log")).read() == "out\n"
    assert open(os.path.join(d, "stderr.log")).read() == "err\n"
    assert not os.path.exists(os.path.join(d, "exit_code.tmp"))


async def test_killed_by_a_signal_is_128_plus_n(mon, tmp_path):
    d, _ = await _run(mon, tmp_path, "k", "exec sleep 30")
    for _ in range(100):
        if os.path.exists(os.path.join(d, "init.pid")):
            break
        await asyncio.sleep(0.02)
    waiter = asyncio.create_task(mon.wait("k"))
    await asyncio.sleep(0.1)
    os.kill(int(open(os.path.join(d, "init.pid")).read()), signal.SIGKILL)
    assert await asyncio.wait_for(waiter, 10) == 137


async def test_a_process_that_ends_before_the_launcher_is_not_lost(mon, tmp_path):
    d, _ = await _run(mon, tmp_path, "e", "exit 5", linger=0.3)  # while "runc" still runs
    assert await _code(mon, "e", d) == 5


async def test_a_failed_launch_records_the_launchers_status(mon, tmp_path):
    d = _dir(tmp_path, "f")
    await mon.launch("f", d, ["sh", "-c", "echo no such command >&2; exit 3"], "0", [])
    assert await _code(mon, "f", d) == 3
    assert not os.path.exists(os.path.join(d, "init.pid"))


async def test_a_missing_launcher_is_an_error_and_nothing_is_followed(mon, tmp_path):
    d = _dir(tmp_path, "m")
    with pytest.raises(KernelError, match="cannot start the container"):
        await mon.launch("m", d, ["/nonexistent/runc"], "0", [])
    assert await mon.wait("m") is None


async def test_after_runs_before_the_exit_code_is_written(mon, tmp_path):
    d = _dir(tmp_path, "r")
    after = ["sh", "-c", f'sleep 0.2; test ! -e "{d}/exit_code" && touch "{d}/cleaned"']
    d, _ = await _run(mon, tmp_path, "r2", "exit 0", after=after)
    assert await _code(mon, "r2", d) == 0
    assert os.path.exists(os.path.join(str(tmp_path / "r"), "cleaned"))


async def test_stdin_modes(mon, tmp_path):
    d = _dir(tmp_path, "s")
    os.mkfifo(os.path.join(d, "stdin"))
    argv = _runc(d, "cat; echo done")
    writer = os.open(os.path.join(d, "stdin"), os.O_RDWR)  # as the daemon's stdin_held
    await mon.launch("s", d, argv, "2", [])  # "2": EOF once the writers are gone
    os.write(writer, b"hello\n")
    os.close(writer)
    assert await _code(mon, "s", d) == 0
    assert open(os.path.join(d, "stdout.log")).read() == "hello\ndone\n"


async def test_it_outlives_its_daemon_and_exits_when_idle_and_alone(mon, tmp_path):
    d, _ = await _run(mon, tmp_path, "o", "sleep 0.5; exit 4")
    pids = _monitor_pids(tmp_path)
    assert len(pids) == 1
    await mon.close()  # "the daemon stops": the container is still followed
    await asyncio.sleep(0.1)
    assert _monitor_pids(tmp_path) == pids
    again = Monitor(str(tmp_path))  # "a new daemon" reaches the same monitor
    try:
        assert await asyncio.wait_for(again.wait("o"), 10) == 4
        assert _monitor_pids(tmp_path) == pids
    finally:
        await again.close()
    for _ in range(100):
        if not _monitor_pids(tmp_path):
            break
        await asyncio.sleep(0.02)
    assert not _monitor_pids(tmp_path)  # nothing to follow, nobody connected
    assert not os.path.exists(tmp_path / monitor_script.SOCKET)
    assert await Monitor(str(tmp_path)).wait("o") is None  # asking does not start one


async def test_a_dead_monitor_is_replaced_for_new_starts(mon, tmp_path):
    d, _ = await _run(mon, tmp_path, "x", "sleep 30")
    [old] = _monitor_pids(tmp_path)
    waiter = asyncio.create_task(mon.wait("x"))
    await asyncio.sleep(0.1)
    os.kill(old, signal.SIGKILL)
    assert await asyncio.wait_for(waiter, 10) is None  # nobody left to tell the code
    os.kill(int(open(os.path.join(d, "init.pid")).read()), signal.SIGKILL)
    d2, _ = await _run(mon, tmp_path, "y", "exit 9")
    assert await _code(mon, "y", d2) == 9
    assert _monitor_pids(tmp_path) not in ([], [old])


def test_the_monitor_imports_nothing_from_tether():
    """It runs as a script for as long as containers do: the standard library only."""
    import ast

    tree = ast.parse(open(monitor_script.__file__).read())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert names and not any(name.startswith("tether") for name in names)
