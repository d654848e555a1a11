"""What a real-clock Lab gets: the driver, the per-environment servers, process runtimes and ``lab.serve()``.

``RealTimeSession(lab)`` is a real-clock lab's driver (``lab.driver``, see ``lambdalab.driver``; also
``lab.realtime``, for tests and curious learners). The Lab's notebook-facing methods go through ``call``, which
runs them on the event loop's thread (``create_function``, ``submit``, ``stats``, ...), and the ones that wait
(``wait_for``, ``advance``, ``run``) block the calling thread, with a bound, while the loop keeps serving HTTP.
The clients' requests reach the loop through the lab's dispatcher (``Dispatcher.call``), which waits the same
way for an invoke to finish. Process runtimes plug into the lab's runtime seam (``lab.runtimes``, see
``lambdalab.sandbox.runtimes``): each environment of one gets a ``ProcessRuntime`` and its own Runtime API
server.
"""
from __future__ import annotations

import atexit
import os
import shutil

import anyio

from ..sandbox import scratch
from .driver import DEFAULT_WAIT, RealTimeDriver
from .processes import ProcessRuntime, is_process_runtime, stop_process
from .runtime_server import RuntimeServer

__all__ = ["RealTimeSession"]

class RealTimeSession:
    def __init__(self, lab) -> None:
        self.lab = lab
        self.driver = RealTimeDriver(lab)
        self.servers: dict[str, RuntimeServer] = {}
        self.runtimes: dict[str, ProcessRuntime] = {}
        self.processes: set = set()
        self.invoke_servers: list = []
        self.all_pids: list[int] = []
        self._closed = False
        self._shim: str | None = None
        lab.runtimes.add(self.make_runtime)
        lab.on_close(self.close)
        atexit.register(self.close)     # a notebook that never calls lab.close() still leaves no process behind

    # --- per-environment pieces ---------------------------------------------------------------------------
    def make_runtime(self, env):
        """The runtime seam's factory: a process runtime, with its own Runtime API server, or None."""
        if not is_process_runtime(env.snapshot):
            return None
        server = RuntimeServer(self, env)
        self.servers[env.id] = server
        runtime = ProcessRuntime(self, env, server)
        self.runtimes[env.id] = runtime
        return runtime

    def shim_dir(self) -> str:
        """A directory with a stand-in ``lambdalab`` package for runtime processes (made once per session)."""
        if self._shim is None:
            self._shim = scratch.make_directory(self.lab, "shim-")
            os.makedirs(os.path.join(self._shim, "lambdalab"))
            with open(os.path.join(self._shim, "lambdalab", "__init__.py"), "w") as fh:
                fh.write('"""Inside a runtime process time is real: ll.sleep is time.sleep; ll.client is boto3\'s\n'
                         '(AWS_ENDPOINT_URL points it at the lab)."""\n'
                         "from time import sleep  # noqa: F401\n\n\n"
                         "def client(service, **kwargs):\n"
                         "    import boto3\n"
                         "    return boto3.client(service, **kwargs)\n")
        return self._shim

    def forget(self, runtime: ProcessRuntime) -> None:
        self.runtimes.pop(runtime.env.id, None)
        self.servers.pop(runtime.env.id, None)

    def track(self, proc) -> None:
        self.processes.add(proc)
        self.all_pids.append(proc.pid)

    def untrack(self, proc) -> None:
        self.processes.discard(proc)

    def runtime_api(self, function_name: str, timeout: float = 15.0) -> str:
        """``AWS_LAMBDA_RUNTIME_API`` of the newest environment of a process function, once its runtime has been
        started (Init reached runtime init). Waits for it, up to ``timeout`` real seconds."""
        found: list[str] = []

        def look() -> bool:
            for runtime in reversed(list(self.runtimes.values())):
                if runtime.env.snapshot.name == function_name and (runtime.initialising or not runtime.first_init):
                    found[:] = [runtime.server.address]
                    return True
            return False
        if not self.driver.wait(look, timeout):
            raise TimeoutError(f"no environment of {function_name!r} started its runtime within {timeout:g} s")
        return found[0]

    # --- the AWS APIs over HTTP ------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve every AWS operation the lab answers over HTTP; returns the URL (boto3's ``endpoint_url``)."""
        from .invoke_api import InvokeServer
        server = self.driver.call(InvokeServer, self, host, port)
        self.invoke_servers.append(server)
        return server.url

    def endpoint(self) -> str:
        """What a runtime process's ``AWS_ENDPOINT_URL`` names: the first ``lab.serve()`` (started if need be)."""
        return self.invoke_servers[0].url if self.invoke_servers else self.serve()

    # --- the driver seam (lambdalab.driver) --------------------------------------------------------------------
    def call(self, fn, *args, **kwargs):
        """Run ``fn`` on the loop thread and return its result to the calling thread."""
        return self.driver.call(fn, *args, **kwargs)

    def client(self, make, service: str, **kwargs):
        """The client ``make(service)`` builds: a botocore client, whose requests reach the loop through the lab's
        dispatcher (``Dispatcher.call`` runs them there and waits for answers that come later)."""
        return make(service, **kwargs)

    def wait_for(self, done, limit: float | None = None) -> None:
        """Block until ``done()``; ``limit`` is a lab time (seconds since start) to give up at."""
        timeout = DEFAULT_WAIT if limit is None else max(0.0, limit - self.driver.wall())
        self.driver.wait(done, timeout)

    def advance(self, seconds: float) -> None:
        """In real time, advancing means letting ``seconds`` of wall-clock time pass (bounded)."""
        if seconds < 0:
            raise ValueError("cannot advance by a negative time")
        self._sleep_until(self.driver.wall() + seconds)

    def run(self, until: float | None = None) -> None:
        """Wait until lab time ``until``, or (without it) until no invocation is in flight (bounded)."""
        if until is not None:
            self._sleep_until(until)
            return
        frontend = self.lab.frontend
        self.driver.wait(lambda: not any(frontend.in_use.values()), DEFAULT_WAIT)

    def _sleep_until(self, t: float) -> None:
        engine = self.lab.engine
        if t - self.driver.wall() > DEFAULT_WAIT * 10:
            raise ValueError(f"a real-time lab waits at most {DEFAULT_WAIT * 10:g} s per call")
        self.driver.call(engine.at, t, _tick)
        self.driver.wait(lambda: engine.now >= t, t - self.driver.wall() + 5.0)

    # --- the end --------------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL) and server, then the loop."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self.driver.close(self._aclose)

    async def _aclose(self) -> None:
        for runtime in list(self.runtimes.values()):
            runtime.generation += 1
            runtime.proc = None
        with anyio.move_on_after(10):
            async with anyio.create_task_group() as tg:
                for proc in list(self.processes):
                    tg.start_soon(stop_process, proc)
        for server in list(self.servers.values()):
            server.close()
        for server in self.invoke_servers:
            server.close()
        if self._shim is not None:
            shutil.rmtree(self._shim, ignore_errors=True)


def _tick() -> None:
    """An empty event: it makes the driver wake at a given time."""
