"""The Worker Manager's side of a keep-alive policy other than ``Fixed`` (``lambdalab.keepalive``).

Each time an on-demand environment goes idle, the policy names a pre-warm and a keep-alive window. With no
pre-warm the environment is kept that long. With one, the environment is shut down at once; if it was its
function's last, a new one is initialised when the pre-warm window ends (a pre-warm: Init with no request
waiting, so the request that then finds it starts warm) and kept for the keep-alive window once ready. A
request that brings up an environment before then (a cold start) makes the pending pre-warm moot.

AWS has something like it: Lambda may initialise environments ahead of demand ("proactive initialization")
but says neither when nor for how long. We bill a pre-warm's Init to nobody, as AWS does not bill it to a
request either.

The expiry of a kept environment is one timer per environment, left where it is while the environment serves
requests: when it fires early (the environment went idle again later) it moves on to the current expiry. So
the heap holds at most one or two timers per environment, however long the keep-alives, instead of one per
release (which with hour-long windows and busy functions would pile up by the million).
"""
from __future__ import annotations

from ..keepalive import learns, windows

__all__ = ["PolicyKeepAlive"]

INF = float("inf")


class PolicyKeepAlive:
    __slots__ = ("fleet", "policy", "learns", "_engine", "_counters", "_last_end", "_prewarms", "_prewarm_keep",
                 "_kept_until")

    def __init__(self, fleet, policy) -> None:
        self.fleet = fleet
        self.policy = policy
        self.learns = learns(policy)              # does it want on_invoke calls?
        self._engine = fleet.lab.engine
        self._counters = fleet.lab.counters
        self._last_end: dict[str, float] = {}     # function -> when its last invocation ended
        self._prewarms: dict[int, list] = {}      # snapshot key -> its pending pre-warm event
        self._prewarm_keep: dict[str, float] = {}  # pre-warmed environment id -> its keep-alive once ready
        # environment id -> [when it expires if still idle, its pending expiry timer or None] (one entry: a
        # release under a policy reads and writes both)
        self._kept_until: dict[str, list] = {}

    # --- what the policy hears ------------------------------------------------------------------------------
    def invoked(self, name: str) -> None:
        """A request of ``name`` is let in: tell the policy how long the function had been idle."""
        now = self._engine.now
        if self._counters.function(name).busy > 1:        # (the busy count includes this request)
            idle = 0.0
        else:
            last = self._last_end.get(name)
            idle = None if last is None else now - last
        self.policy.on_invoke(name, now, idle)

    def ended(self, name: str, now: float) -> None:
        self._last_end[name] = now

    def cold_start(self, snap) -> None:
        """A request brings up an environment of ``snap``: a pending pre-warm is moot."""
        if self._prewarms:
            self._engine.cancel(self._prewarms.pop(snap.key, None))

    # --- what the policy decides ----------------------------------------------------------------------------
    def idle(self, env, now: float) -> bool:
        """``env`` (on demand) went idle: keep it for the policy's window (True), or shut it down now (False)."""
        keep = self._prewarm_keep.pop(env.id, None)
        if keep is not None:                      # a pre-warm, ready: its Init was nobody's cold start
            env.init_reported = True
        else:
            name = env.snapshot.function.name
            prewarm, keep = windows(self.policy, name, now)
            if prewarm > 0:
                last = self._counters.function(name).environments.value == 1
                self.fleet.reclaim(env, f"the keep-alive policy expects no request for {prewarm:,.0f} s")
                if last:
                    self._prewarm_at(env.snapshot, now + prewarm, keep)
                return False
        self.keep(env, min(now + keep, env.expires_at))
        return True

    def forget(self, env) -> float:
        """``env`` is gone (or handed to another keeper): nothing of it stays pending. Returns its expiry."""
        self._prewarm_keep.pop(env.id, None)
        kept = self._kept_until.pop(env.id, None)
        if kept is None:
            return INF
        self._engine.cancel(kept[1])
        return kept[0]

    def close(self) -> None:
        """Another policy takes over: pending pre-warms are dropped."""
        for timer in self._prewarms.values():
            self._engine.cancel(timer)
        self._prewarms.clear()

    def keep(self, env, expire: float) -> None:
        """``env`` expires at ``expire``: its timer stays if it fires no later (it then moves on)."""
        kept = self._kept_until.get(env.id)
        if kept is None:
            kept = self._kept_until[env.id] = [expire, None]
        else:
            kept[0] = expire
            timer = kept[1]
            if timer is not None:
                if timer[0] <= expire:
                    return
                self._engine.cancel(timer)
        kept[1] = None if expire == INF else self._engine.at(expire, self._kept, env)

    def _kept(self, env) -> None:
        kept = self._kept_until[env.id]
        kept[1] = None
        if env.state != "Idle":
            return                                # serving a request: its next release sets a new expiry
        now = self._engine.now
        expire = kept[0]
        if now < expire:
            kept[1] = self._engine.at(expire, self._kept, env)
            return
        self.fleet.reclaim(env, "idle for longer than the keep-alive" if now < env.expires_at else
                           "it reached its maximum lifetime")

    def _prewarm_at(self, snap, when: float, keep: float) -> None:
        self._engine.cancel(self._prewarms.get(snap.key))
        self._prewarms[snap.key] = self._engine.at(when, self._prewarm, snap, keep)

    def _prewarm(self, snap, keep: float) -> None:
        """The pre-warm window is over: initialise an environment ahead of the next request."""
        self._prewarms.pop(snap.key, None)
        fleet = self.fleet
        name = snap.function.name
        if snap.key in fleet.retired_keys or self._counters.function(name).environments.value \
                or not fleet.scaling_token(name):
            return
        lab = fleet.lab
        if lab.trace.full:
            lab.trace.emit("worker_manager", "prewarm",
                           "Pre-warm an environment of {}:{}: the keep-alive policy expects a request soon", snap.name,
                           snap.version, function=snap.name, version=snap.version, target="placement")
        env = fleet.new_environment(snap, "on-demand")
        env.prewarmed = True
        self._prewarm_keep[env.id] = keep
        env.boot(None)
