"""kernel.fds: long-lived descriptors move above the range select() can see."""

import os
import resource
import socket

import pytest

from tether.kernel import fds


@pytest.fixture
def room():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= fds.FLOOR + 16:
        pytest.skip("the descriptor limit leaves no room above 1024")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_socket_is_lifted_and_keeps_working(room):
    a, b = socket.socketpair()
    low = a.fileno()
    a.setblocking(False)
    lifted = fds.lift(a)
    try:
        assert lifted.fileno() >= fds.FLOOR and not lifted.getblocking()
        assert low not in {lifted.fileno(), b.fileno()}
        with pytest.raises(OSError):
            os.fstat(low)  # the low number is free again
        b.send(b"ping")
        assert lifted.recv(4) == b"ping"
    finally:
        lifted.close()
        b.close()


def test_a_raw_descriptor_is_lifted_and_close_on_exec(room):
    r, w = os.pipe()
    high = fds.lift_fd(r)
    try:
        assert high >= fds.FLOOR and not os.get_inheritable(high)
        os.write(w, b"x")
        assert os.read(high, 1) == b"x"
    finally:
        os.close(high)
        os.close(w)


def test_resolver_binding_is_bounded(monkeypatch):
    """A bind that hangs (a stuck namespace under load) fails the start within the timeout
    with a KernelError, and the sockets the late thread makes are closed, not leaked."""
    import asyncio
    import socket
    import threading

    import pytest

    from tether.errors import KernelError
    from tether.kernel import nssock

    release, made = threading.Event(), []

    def slow_pair(path, address):
        release.wait(5)
        pair = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
                socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        made.extend(pair)
        return pair

    monkeypatch.setattr(nssock, "_bind_pair", slow_pair)

    async def go():
        with pytest.raises(KernelError, match="longer than"):
            await nssock.bind_in_netns("/nonexistent", "127.0.0.11", timeout=0.05)
        release.set()
        for _ in range(100):
            if made and all(s.fileno() == -1 for s in made):
                return
            await asyncio.sleep(0.01)

    asyncio.run(go())
    assert made and all(s.fileno() == -1 for s in made)
