"""The shim of a container with a TTY: holds the pty master for the container's whole life.

Run as a script (`python -I ptyshim.py tether-shim DIR RUNC ROOT ID`), never imported by the
daemon's code paths: it imports nothing from tether, so it starts fast and stays small.
It keeps the contract of the /bin/sh shim (shim.py): shim.pid first, init.pid from runc,
exit_code by a rename at the end, output appended to stdout.log; so a daemon started later
adopts a TTY container exactly as any other. In addition it
    - listens on console.sock (relative to DIR: UNIX paths are limited to 108 bytes) for the
      pty master that `runc run --console-socket` hands over,
    - copies the master's output to stdout.log (attached clients follow that file),
    - copies the `stdin` FIFO (if the container has OpenStdin) into the master,
    - reads `R <rows> <cols>` lines from the `ctl` FIFO and resizes the terminal.
The FIFOs are opened read-write so that clients coming and going never give it EOF.
"""

from __future__ import annotations

import array
import fcntl
import os
import selectors
import socket
import struct
import subprocess
import sys
import termios

CHUNK = 65536
PR_SET_CHILD_SUBREAPER = 36


def receive_master(listener: socket.socket, runc: subprocess.Popen) -> int | None:
    """The pty master fd runc sends over the console socket; None if runc exits first."""
    pidfd = os.pidfd_open(runc.pid)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(pidfd, selectors.EVENT_READ)
    try:
        while True:
            for key, _ in sel.select():
                if key.fileobj == pidfd:
                    return None
                conn, _ = listener.accept()
                with conn:
                    fds = array.array("i")
                    _, ancdata, _, _ = conn.recvmsg(1024, socket.CMSG_SPACE(4))
                    for level, kind, data in ancdata:
                        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                            fds.frombytes(data[:4])
                    if fds:
                        return fds[0]
    finally:
        sel.close()
        os.close(pidfd)


def resize(master: int, line: bytes) -> None:
    """Apply one `R rows cols` control line to the terminal."""
    parts = line.split()
    if len(parts) == 3 and parts[0] == b"R" and parts[1].isdigit() and parts[2].isdigit():
        fcntl.ioctl(master, termios.TIOCSWINSZ,
                    struct.pack("HHHH", int(parts[1]), int(parts[2]), 0, 0))


class Pump:
    """Moves bytes between the master, the log, the stdin FIFO and the control FIFO."""

    def __init__(self, master: int, log: int, stdin: int | None, ctl: int) -> None:
        self.master, self.log, self.stdin, self.ctl = master, log, stdin, ctl
        self.pending = b""
        self.ctl_buf = b""
        self.sel = selectors.DefaultSelector()
        os.set_blocking(master, False)
        self.sel.register(master, selectors.EVENT_READ)
        self.sel.register(ctl, selectors.EVENT_READ)
        if stdin is not None:
            self.sel.register(stdin, selectors.EVENT_READ)

    def step(self, timeout: float | None) -> bool:
        """One round of copying; False once the terminal is closed (the container ended)."""
        for key, events in self.sel.select(timeout):
            fd = key.fd
            if fd == self.master and events & selectors.EVENT_WRITE:
                self.flush_input()
            if fd == self.master and events & selectors.EVENT_READ and not self.copy_output():
                return False
            if fd == self.stdin:
                self.pending += os.read(fd, CHUNK)
                self.flush_input()
            if fd == self.ctl:
                self.ctl_buf += os.read(fd, CHUNK)
                *lines, self.ctl_buf = self.ctl_buf.split(b"\n")
                for line in lines:
                    resize(self.master, line)
        return True

    def copy_output(self) -> bool:
        try:
            data = os.read(self.master, CHUNK)
        except BlockingIOError:
            return True
        except OSError:  # EIO: every slave fd is closed
            return False
        if not data:
            return False
        os.write(self.log, data)
        return True

    def flush_input(self) -> None:
        try:
            sent = os.write(self.master, self.pending) if self.pending else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self.pending, sent = b"", 0
        self.pending = self.pending[sent:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.pending else 0)
        self.sel.modify(self.master, events)

    def drain(self) -> None:
        """After runc exited: copy what is left in the terminal."""
        while self.copy_output():
            try:
                if not self.sel.select(0):
                    return
            except OSError:
                return


def run(directory: str, runc: str, root: str, cid: str) -> int:
    os.chdir(directory)
    become_subreaper()
    with open("shim.pid.tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace("shim.pid.tmp", "shim.pid")
    stdin = os.open("stdin", os.O_RDWR | os.O_NONBLOCK) if os.path.exists("stdin") else None
    ctl = os.open("ctl", os.O_RDWR | os.O_NONBLOCK)
    log = os.open("stdout.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    if os.path.exists("console.sock"):
        os.unlink("console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("console.sock")
    listener.listen(1)
    with open("stderr.log", "ab") as err:
        proc = subprocess.Popen(
            [runc, "--root", root, "--log", os.path.join(directory, "runc.log"),
             "--log-format", "json", "run", "--detach", "--bundle", directory, "--pid-file",
             os.path.join(directory, "init.pid"), "--console-socket", "console.sock", cid],
            stdin=subprocess.DEVNULL, stdout=log, stderr=err)
    master = receive_master(listener, proc)
    listener.close()
    code = proc.wait()
    if master is None or code != 0:
        return code
    pump = Pump(master, log, stdin, ctl)
    while pump.step(None):
        pass
    pump.drain()
    return wait_init(int(open("init.pid").read().strip()))


def become_subreaper() -> None:
    """Adopt the container's init when `runc run --detach` exits, to read its exit status.

    runc refuses a console socket unless it detaches, so the shim cannot simply wait on runc.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def wait_init(pid: int) -> int:
    """The container's exit code, Docker's way: 128+N after signal N."""
    while True:
        try:
            got, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if got == pid:
            code = os.waitstatus_to_exitcode(status)
            return 128 - code if code < 0 else code


def main(argv: list[str]) -> int:
    _, directory, runc, root, cid = argv[1:6]
    try:
        code = run(directory, runc, root, cid)
    except Exception as exc:  # the exit code must be written whatever happened
        sys.stderr.write(f"tether pty shim: {exc!r}\n")
        code = 255
    with open(os.path.join(directory, "exit_code.tmp"), "w") as f:
        f.write(f"{code}\n")
    os.replace(os.path.join(directory, "exit_code.tmp"), os.path.join(directory, "exit_code"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
