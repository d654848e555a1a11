"""SnapStart in the data plane: Init once at PublishVersion, take a snapshot, restore it at every cold start.

In AWS, publishing a version of a SnapStart function starts an execution environment that runs the whole Init
phase (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, INIT_START, and INIT_REPORT, which SnapStart always
logs), runs the ``before_snapshot`` hooks, and then takes a Firecracker snapshot of the microVM's memory and
disk; the snapshot is encrypted, cached in several copies, and the version becomes Active. A cold start of that
version then boots a microVM from the snapshot instead of running Init: RESTORE_START, the resume, the runtime
re-attaching, the ``after_restore`` hooks, RESTORE_REPORT; REPORT shows ``Restore Duration`` and, for Python
and .NET, ``Billed Restore Duration`` (the runtime and hooks part, billed as duration) instead of
``Init Duration``. Python and .NET also pay to cache the snapshot and for each GB restored. Whatever Init left
in memory is the same in every restored environment: a random seed, an id made at import time, a connection.
That is SnapStart's uniqueness pitfall, and what ``after_restore`` hooks are for.

Here the snapshot environment runs the ordinary cold-start chain with the hooks after function init; the
snapshot keeps what makes Init's state: the random stream the runtime seeded and the virtual moment Init ran
at. A restore rebuilds that state by running the module code again with the same stream and the same clock
(its output was logged at publish time and is not repeated; it takes no virtual time: the restore cost model
does), so every restored environment holds the same values, as a snapshot's copies do. We simplify: module code
with outside effects (calls to other services at import) repeats them at each restore; a process runtime
(``process=True``, custom runtimes) is initialised as usual; a failed after-restore hook fails the environment
like a failed Init (AWS answers the invoke with SnapStartException / SnapStartTimeoutException).
"""
from __future__ import annotations

import math

from ..control_plane import inactivity
from . import vtime
from .companions import ms
from .python_runtime import Outcome

__all__ = ["SnapStart", "Snapshot", "take_snapshot", "restore", "RESTORE_HOOK_LIMIT"]

RESTORE_HOOK_LIMIT = 10.0          # after-restore hooks must finish within 10 s (else SnapStartTimeoutException)
_BILLED_RUNTIMES = ("python", "dotnet")     # Java's SnapStart caching and restores are free


class Snapshot:
    """One version's snapshot: what rebuilds Init's state, and when it was taken."""

    __slots__ = ("version", "seed", "init_start", "init_duration", "taken_at", "memory_mb", "removed_at")

    def __init__(self, version, seed, init_start, init_duration, taken_at) -> None:
        self.version, self.seed, self.init_start = version, seed, init_start
        self.init_duration, self.taken_at = init_duration, taken_at
        self.memory_mb = version.memory
        self.removed_at = None

    def __repr__(self) -> str:
        return f"<Snapshot {self.version.name}:{self.version.version} taken at {self.taken_at:.3f}s>"


class SnapStart:
    """The snapshots of a lab's published versions, their Init at publish time and their bill."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.snapshots: list[Snapshot] = []
        self.restored_gb: dict[str, float] = {}      # function -> GB restored (billed per GB)
        self._taking: dict[str, tuple] = {}          # snapshot environment id -> (seed, function init start)

    # --- PublishVersion ----------------------------------------------------------------------------------------
    def publish(self, snap) -> None:
        """A SnapStart version was published (Pending): initialise it once and take its snapshot."""
        env = self.lab.fleet.new_environment(snap, "snap-start")
        env.boot(None)

    def retake(self, snap) -> None:
        """An invoke found the version Inactive (its snapshot was removed): take a new one."""
        snap.config.update(State="Pending", StateReasonCode="Restoring",
                           StateReason="The function version is being restored from Inactive.")
        self.publish(snap)

    def init_ran(self, env, seed: str | None, start: float) -> None:
        """The snapshot environment's module code ran at ``start`` with the random stream ``seed``."""
        self._taking[env.id] = (seed, start)

    def taken(self, env) -> None:
        """The snapshot environment finished Init and its hooks: snapshot it, make the version Active."""
        lab, snap = self.lab, env.snapshot
        seed, init_start = self._taking.pop(env.id)
        env.log(f"INIT_REPORT Init Duration: {ms(env.init_duration)}\tPhase: init\tStatus: success")
        record = Snapshot(snap, seed, init_start, env.init_duration, lab.now)
        snap.snapstart = record
        self.snapshots.append(record)
        snap.config.update(State="Active", StateReasonCode="Idle")
        snap.config.pop("StateReason", None)
        env.emit("environment", "snapshot", "Snapshot of {}:{} taken from {} (memory and disk, encrypted and "
                 "cached); the version is Active", snap.name, snap.version, env.id)
        env.shutdown("spindown")
        inactivity.watch(lab, snap.name, lab.now, lambda: snap.snapstart is record and self._live(snap),
                         lambda: self._remove(record))

    def failed(self, env, error_type: str) -> None:
        """Init failed at publish time: no snapshot, the version is Failed."""
        self._taking.pop(env.id, None)
        snap = env.snapshot
        code = "FunctionError.InitTimeout" if error_type == "Sandbox.Timedout" else "FunctionError"
        snap.config.update(State="Failed", StateReasonCode=code,
                           StateReason=f"The function could not be initialized for SnapStart ({error_type}).")
        env.shutdown("failure")

    def _live(self, snap) -> bool:
        return self.lab.control_plane.functions.get(snap.name) is snap.function and \
            snap.function.versions.get(snap.version) is snap

    def _remove(self, record: Snapshot) -> None:
        """Not invoked for 14 days: Lambda deletes the snapshot and the version becomes Inactive."""
        snap = record.version
        record.removed_at = self.lab.now
        snap.snapstart = None
        snap.config.update(State="Inactive", StateReasonCode="Idle",
                           StateReason="The function version is inactive: it was not invoked for 14 days and its "
                                       "snapshot was removed.")
        self.lab.on_snapshot_replaced(snap)        # its idle environments go

    # --- restores and the bill ---------------------------------------------------------------------------------
    def restored(self, env) -> None:
        name = env.snapshot.name
        self.restored_gb[name] = self.restored_gb.get(name, 0.0) + env.snapshot.memory / 1024

    def cost(self, function: str | None = None) -> float:
        """USD for caching snapshots and restoring them (Python and .NET runtimes), up to now."""
        cost, now = self.lab.cost, self.lab.now
        total = 0.0
        for record in self.snapshots:
            version = record.version
            if (function is None or version.name == function) and version.runtime.startswith(_BILLED_RUNTIMES):
                end = record.removed_at if record.removed_at is not None else now
                total += (end - record.taken_at) * record.memory_mb / 1024 * cost.price_snapstart_cache
        for name, gb in self.restored_gb.items():
            fn = self.lab.control_plane.functions.get(name)
            if (function is None or name == function) and fn is not None and \
                    fn.latest.runtime.startswith(_BILLED_RUNTIMES):
                total += gb * cost.price_snapstart_restore
        return total


# --- cold-start phases (see sandbox.coldstart.phases_for) ------------------------------------------------------
def take_snapshot(init_phase):
    """Wrap the last Init phase of a snapshot environment: after it, the ``before_snapshot`` hooks run."""
    def phase(chain) -> float:
        env = chain.env
        lab = env.lab
        start = lab.now
        seconds = init_phase(chain)
        lab.snapstart.init_ran(env, getattr(env.runtime, "seed", None), start)
        outcome = chain.outcome
        hooks = getattr(env.runtime, "run_hooks", None)
        if outcome is None or outcome.status != "ok" or hooks is None:
            return seconds
        budget = vtime.Budget(lab.now + seconds, max(0.0, chain.left - seconds), lab.epoch)
        ran = hooks("before", budget)
        env.output(ran.lines)
        env.emit("function", "hooks", "before_snapshot hooks run: {:.2f} ms", ran.elapsed * 1000,
                 phase="function_init", duration=ran.elapsed, hook="before_snapshot", status=ran.status)
        if ran.status != "ok":
            outcome = ran
        return chain.end(outcome, seconds + ran.elapsed)
    return phase


def restore(chain) -> float:
    """A cold start of a SnapStart version: resume its snapshot instead of running Init."""
    env = chain.env
    lab = env.lab
    snap = env.snapshot
    record = snap.snapstart
    env.log(f"RESTORE_START Runtime Version: {lab.runtime_version(snap.runtime)}\t"
            f"Runtime Version ARN: {lab.runtime_version_arn(snap.runtime)}")
    resume = lab.cost.snapstart_restore(snap.memory)
    attach = lab.cost.snapstart_runtime
    # Init's state, as the snapshot holds it: the same code with the same random stream and the same clock
    env.restore_seed = record.seed
    rebuilt = env.runtime.init(vtime.Budget(record.init_start, math.inf, lab.epoch))
    hooks = getattr(env.runtime, "run_hooks", None)
    ran = Outcome("ok", 0.0)
    if rebuilt.status == "ok" and hooks is not None:
        ran = hooks("after", vtime.Budget(lab.now + resume + attach, RESTORE_HOOK_LIMIT, lab.epoch))
        env.output(ran.lines)
    outcome = rebuilt if rebuilt.status != "ok" else ran
    total = resume + attach + ran.elapsed
    env.restore = (total, attach + ran.elapsed)
    lab.snapstart.restored(env)
    status = ""
    if outcome.status != "ok":
        status = "\tStatus: timeout" if outcome.status == "timeout" else \
            f"\tStatus: error\tError Type: {outcome.error_type or 'Runtime.ExitError'}"
    env.log(f"RESTORE_REPORT Restore Duration: {ms(total)}{status}", lab.now + total)
    env.emit("environment", "restore", "Resume {} from the snapshot of {}:{} (taken at t={:.3f} s): {:.2f} ms to "
             "restore memory and disk, {:.2f} ms for the runtime, {:.2f} ms of after_restore hooks", env.id,
             snap.name, snap.version, record.taken_at, resume * 1000, attach * 1000, ran.elapsed * 1000,
             phase="restore", duration=total, resume=resume, runtime=attach, hooks=ran.elapsed, status=outcome.status)
    return chain.end(outcome, total)
