"""Where a lab keeps its files on the real disk: environments' /tmp, unpacked layers, task folders of processes.

AWS throws a microVM's disk away with the microVM. Here every directory a lab makes lives under one directory of
its own in the system's temporary folder, ``lambdalab-<pid>-<process start>-<n>``: removed by ``lab.close()``
(after the lab's processes are stopped), and, when a kernel was killed before it could close its labs, removed by
the next lab that starts on the machine (its owner process is gone, or another process now has that pid).
"""
from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
import weakref

__all__ = ["lab_directory", "make_directory", "remove_stale"]

_NAME = re.compile(r"^lambdalab-(\d+)-(\d+)-\d+$")
_numbers = itertools.count(1)
_swept = False
_directories: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # lab -> its directory


def _start_time(pid: int) -> int:
    """When process ``pid`` started (clock ticks since boot, from /proc), 0 when unknown; -1 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except FileNotFoundError:
        return -1
    except (OSError, ValueError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return -1
        except PermissionError:
            pass
        return 0


def remove_stale(root: str | None = None) -> list[str]:
    """Remove the lab directories of processes that are gone; returns what was removed."""
    root = root or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        match = _NAME.match(name)
        if match is None:
            continue
        pid, started = int(match.group(1)), int(match.group(2))
        now = _start_time(pid)
        if now == -1 or (now and started and now != started):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed.append(name)
    return removed


def lab_directory(lab) -> str:
    """The lab's own directory (made on first use; the first one in a process also sweeps stale ones)."""
    global _swept
    path = _directories.get(lab)
    if path is None:
        if not _swept:
            _swept = True
            remove_stale()
        pid = os.getpid()
        path = os.path.join(tempfile.gettempdir(), f"lambdalab-{pid}-{max(_start_time(pid), 0)}-{next(_numbers)}")
        os.makedirs(path, mode=0o700)
        _directories[lab] = path
        lab.on_close(lambda: shutil.rmtree(_directories.pop(lab, path), ignore_errors=True), last=True)
    return path


def make_directory(lab, prefix: str) -> str:
    """A new directory inside the lab's own (``tempfile.mkdtemp`` there)."""
    return tempfile.mkdtemp(prefix=prefix, dir=lab_directory(lab))
