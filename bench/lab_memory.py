#!/usr/bin/env python3
"""How much memory does each lab's kernel need? Binder gives 2 GB; a lab's kernel must stay under 500 MB.

    PYTHONPATH=. python bench/lab_memory.py                  # every labs/NN_*.ipynb
    PYTHONPATH=. python bench/lab_memory.py labs/01_*.ipynb  # just these
    ...
    bench: lab_memory heaviest=01_synchronous_invoke peak_mib=144.5 heaviest_with_children=... with_children_mib=...

Each notebook runs, unmodified, in a fresh ipykernel started by nbclient; after its last cell we read the
kernel process's peak resident set size (VmHWM in /proc/<pid>/status, Linux) before shutting it down. The
kernel's child processes (runtime processes, servers: lab 07) are counted too, by sampling the RSS of the
whole process tree every 0.1 s. The notebook file is never written.
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


def _pss_kib(pid: int) -> int:
    """The process's proportional set size: its resident pages, each shared page divided among its sharers."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:  # the process ended between listing and reading
        pass
    return 0


def tree_rss_mib(pid: int) -> float:
    """Memory of ``pid`` and all its descendants right now (runtime processes, servers, ``ll.sweep``'s forked
    workers), in MiB: the sum of their proportional set sizes, which counts a page that forked processes share
    once, as the kernel's memory limit (Binder's cgroup) does; a sum of RSS would count it once per process."""
    parents = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(_pss_kib(p) for p in tree) / 1024


def run_notebook(path: pathlib.Path, timeout: float = 120) -> tuple[object, float, float, float]:
    """Execute ``path`` in a fresh kernel.

    Returns (executed notebook, kernel peak RSS, peak RSS of the kernel plus its child processes sampled every
    0.1 s, seconds); memory in MiB. Children matter for labs that start runtime processes (lab 07).
    """
    import threading

    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    if str(ROOT) not in env_path.split(os.pathsep):  # the kernel must import this checkout's lambdalab
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env_path) if p)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    tree_peak = [0.0]
    done = threading.Event()
    with client.setup_kernel():
        pid = client.km.provisioner.process.pid

        def sample():
            while not done.wait(0.1):
                tree_peak[0] = max(tree_peak[0], tree_rss_mib(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            tree_peak[0] = max(tree_peak[0], tree_rss_mib(pid))
            peak = peak_rss_mib(pid)
        finally:
            done.set()
            sampler.join()
    return nb, peak, max(tree_peak[0], peak), time.perf_counter() - t0


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv] or sorted((ROOT / "labs").glob("[0-9][0-9]_*.ipynb"))
    results = []
    for path in paths:
        _, peak, tree, seconds = run_notebook(path)
        results.append((peak, tree, path.stem))
        print(f"{path.stem:<40} peak_mib={peak:7.1f}  with_children_mib={tree:7.1f}  {seconds:5.1f} s", flush=True)
    if not results:
        print("bench: lab_memory no notebooks")
        return 1
    peak, _, stem = max(results)
    tree, _, tree_stem = max((t, p, s) for p, t, s in results)
    print(f"bench: lab_memory heaviest={stem} peak_mib={peak:.1f} "
          f"heaviest_with_children={tree_stem} with_children_mib={tree:.1f}")
    return 0 if max(peak, tree) < 500 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
