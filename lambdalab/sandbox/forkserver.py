"""A forkserver: where the child processes of ``isolation="process"`` come from, a few milliseconds each.

Lambda boots a Firecracker microVM for an execution environment in about 125 ms of its own time; the lab's
stand-in for a microVM is a child process, and making one must cost the notebook next to nothing. Forking the
Jupyter kernel itself is not safe (it runs threads: a lock held by one of them at the fork stays held in the
child forever), and starting a fresh interpreter costs a quarter of a second. So each lab that isolates starts
one small server process (``forkserver.serve`` in a fresh interpreter) that imports the child's code once and
then forks a copy of itself for each environment: ``ForkServer.spawn()`` hands it the child's two descriptors
(its control socket and its output pipe) over a Unix socket (``SCM_RIGHTS``), and the copy runs the ``main`` of
the module the lab named (``ForkServer("lambdalab.sandbox.microvm")``: this module knows nothing of what the
children do). The server reaps its children, tells their exit status (``status(pid)``) and signals a child's
whole process group for the lab (``kill(pid)``: it alone knows a pid is still its child's, not a recycled one);
it dies with the kernel (``PR_SET_PDEATHSIG``) and at ``lab.close()``, and its children die with it.

Messages between the lab and a child (``send`` / ``recv``) are frames of a JSON header and an optional binary
part (a payload, a package's files): ``[u32 header length][u32 blob length][header][blob]``. Nothing the
child sends is unpickled or executed by the lab.
"""
from __future__ import annotations

import ctypes
import importlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys

__all__ = ["ForkServer", "send", "recv", "Closed", "die_with_parent", "adopt_orphans"]

_HEAD = struct.Struct("!II")
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
MAX_HEADER = 16 * 1024 * 1024           # a frame bigger than these is a broken (or hostile) child's
MAX_BLOB = 256 * 1024 * 1024            # (a streamed response may be 200 MB)
# the encoder and decoder, bound now: learner code in a child may patch the json module it shares with the runtime
_encode = json.JSONEncoder().encode
_decode = json.JSONDecoder().decode


class Closed(Exception):
    """The other end of a socket is gone."""


def frame(header: dict, blob: bytes = b"") -> bytes:
    data = _encode(header).encode()
    return _HEAD.pack(len(data), len(blob)) + data + blob


def send(sock: socket.socket, header: dict, blob: bytes = b"") -> None:
    sock.sendall(frame(header, blob))


def _read(sock: socket.socket, n: int) -> bytes:
    parts, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise Closed()
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def recv(sock: socket.socket) -> tuple[dict, bytes]:
    """One frame; ``ValueError`` for one that is not well-formed or too big."""
    head_len, blob_len = _HEAD.unpack(_read(sock, _HEAD.size))
    if head_len > MAX_HEADER or blob_len > MAX_BLOB:
        raise ValueError(f"a frame of {head_len} + {blob_len} bytes")
    header = _decode(_read(sock, head_len).decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("a frame's header must be a JSON object")
    return header, (_read(sock, blob_len) if blob_len else b"")


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass                                   # (not Linux: no such guarantees)


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (no-op elsewhere)."""
    _prctl(PR_SET_PDEATHSIG, sig)


def adopt_orphans() -> None:
    """Make this process a child subreaper: what its descendants leave orphaned (a double fork, a ``setsid``
    daemon) becomes its child instead of escaping to init (no-op elsewhere)."""
    _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _orphans(me: int, ours) -> list[int]:
    """Our children that we did not spawn: processes a dead child left behind."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in ours:
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    if int(f.read().rsplit(b")", 1)[1].split()[1]) == me:
                        found.append(int(name))
            except (OSError, ValueError, IndexError):
                continue
    return found


class ForkServer:
    """The lab's side of one forkserver process."""

    def __init__(self, child: str) -> None:
        """A server whose children each run ``main(control_fd, output_fd)`` of the module named ``child``."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen([sys.executable, "-c", "import sys; from lambdalab.sandbox.forkserver import "
                                      "serve; serve(int(sys.argv[1]), sys.argv[2])", str(theirs.fileno()), child],
                                     pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        theirs.close()
        self.sock = ours
        header, _ = recv(self.sock)             # the server has imported the child's code
        assert header.get("ready")

    def spawn(self, fds: list[int]) -> int:
        """A new child with ``fds`` (its control socket, its output pipe); returns its pid."""
        socket.send_fds(self.sock, [frame({"op": "spawn"})], fds)
        answer = recv(self.sock)[0]
        if "error" in answer:
            raise OSError(answer["error"])
        return answer["pid"]

    def kill(self, pid: int, sig: int = signal.SIGKILL) -> None:
        """Signal child ``pid``'s process group (itself and whatever it forked), if it has not ended."""
        send(self.sock, {"op": "kill", "pid": pid, "signal": int(sig)})
        recv(self.sock)

    def status(self, pid: int) -> int:
        """How child ``pid`` ended, as ``waitstatus_to_exitcode`` gives it (negative: the signal that killed it).
        Waits for it to end: call this once its control socket is closed or it was killed."""
        send(self.sock, {"op": "status", "pid": pid})
        return recv(self.sock)[0]["code"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)      # the server and every child it made
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        self.proc.wait()
        self.sock.close()


# --- the server process ---------------------------------------------------------------------------------------
def serve(fd: int, child: str) -> None:
    die_with_parent()
    adopt_orphans()
    main = importlib.import_module(child).main     # what every child runs, imported once here
    sock = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    ended: dict[int, int] = {}                 # reaped children: pid -> exit code
    asked: dict[int, bool] = {}                # pids the lab waits on
    spawned: set[int] = set()                  # the live children we made (the environments)
    me = os.getpid()
    send(sock, {"ready": True})

    def reap() -> None:
        gone, answers = False, []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            gone = True                        # (an orphan's own children come to us when it dies)
            if pid not in spawned:
                continue                       # an orphan we killed
            spawned.discard(pid)
            ended[pid] = os.waitstatus_to_exitcode(status)
            if asked.pop(pid, False):
                answers.append(pid)
        if gone:
            # an environment ended: whatever its processes left running (a daemon that called setsid) came to
            # us, as everything in a microVM ends with it; their own children come next time
            for orphan in _orphans(me, spawned):
                try:
                    os.kill(orphan, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        # only now does the lab hear that a child ended: told first, it could close us (lab.close()) before the
        # orphans above were killed, and they would outlive the lab
        for pid in answers:
            send(sock, {"pid": pid, "code": ended.pop(pid)})

    while True:
        ready, _, _ = select.select([sock, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            reap()
        if sock in ready:
            try:
                data, fds, _, _ = socket.recv_fds(sock, 65536, 2)
            except InterruptedError:
                continue
            if not data:
                return                         # the lab is gone
            head_len = _HEAD.unpack(data[:_HEAD.size])[0]
            request = _decode(data[_HEAD.size:_HEAD.size + head_len].decode("utf-8"))
            op = request["op"]
            if op == "spawn":
                try:
                    pid = os.fork()
                except OSError as exc:         # (out of processes or memory: the lab hears why)
                    for fd_ in fds:
                        os.close(fd_)
                    send(sock, {"error": f"{type(exc).__name__}: {exc}"})
                    continue
                if pid == 0:
                    sock.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    main(*fds)                 # never returns
                spawned.add(pid)
                for fd_ in fds:
                    os.close(fd_)
                send(sock, {"pid": pid})
                continue
            reap()
            pid = request["pid"]
            if op == "kill":
                if pid not in ended:           # not reaped: the pid is still our child's
                    try:
                        os.killpg(pid, request["signal"])
                    except (ProcessLookupError, PermissionError):
                        pass
                send(sock, {"pid": pid})
            elif pid in ended:
                send(sock, {"pid": pid, "code": ended.pop(pid)})
            else:
                asked[pid] = True
