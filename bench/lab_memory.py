#!/usr/bin/env python3
"""How much memory does each lab's kernel need? Binder gives 2 GB; a lab's kernel must stay under 500 MB.

    PYTHONPATH=. python bench/lab_memory.py                  # every labs/NN_*.ipynb
    PYTHONPATH=. python bench/lab_memory.py labs/01_*.ipynb  # just these
    ...
    bench: lab_memory heaviest=01_synchronous_invoke peak_mib=123.4

Each notebook runs, unmodified, in a fresh ipykernel started by nbclient; after its last cell we read the
kernel process's peak resident set size (VmHWM in /proc/<pid>/status, Linux) before shutting it down. The
notebook file is never written.
"""
from __future__ import annotations

import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory of process ``pid`` in MiB (VmHWM)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def run_notebook(path: pathlib.Path, timeout: float = 120) -> tuple[object, float, float]:
    """Execute ``path`` in a fresh kernel; return (executed notebook, kernel peak RSS in MiB, seconds)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    if str(ROOT) not in env_path.split(os.pathsep):  # the kernel must import this checkout's lambdalab
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        peak = peak_rss_mib(client.km.provisioner.process.pid)
    return nb, peak, time.perf_counter() - t0


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv] or sorted((ROOT / "labs").glob("[0-9][0-9]_*.ipynb"))
    results = []
    for path in paths:
        _, peak, seconds = run_notebook(path)
        results.append((peak, path.stem))
        print(f"{path.stem:<40} peak_mib={peak:7.1f}  {seconds:5.1f} s", flush=True)
    if not results:
        print("bench: lab_memory no notebooks")
        return 1
    peak, stem = max(results)
    print(f"bench: lab_memory heaviest={stem} peak_mib={peak:.1f}")
    return 0 if peak < 500 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
