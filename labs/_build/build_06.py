#!/usr/bin/env python3
"""Generate labs/06_keep_alive_reuse_and_cost.ipynb and its solution: keep-alive policies on a day of real traffic.

    PYTHONPATH=. python labs/_build/build_06.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_06.py --no-run   # write only

Uses the cell helpers of build_00_01.py. The exercise constants (the slice of the Azure Functions 2019 trace the
lab replays, the fixed keep-alives a policy is compared with, the timer) come from lambdalab/check/lab06.py, so
the text, the code and the checks cannot drift apart. By default the lab replays half of the trace's quiet
functions (those invoked at most 1,000 times in the day: most of the functions, a small share of the
invocations), which is where keep-alive decides anything and fits Binder's limits; the whole day is an option
in section 6.
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from build_00_01 import (build_labs, Exercise, check_cell, code, md, nav, link,
                         what_aws_does_differently)  # noqa: E402

from lambdalab.check import lab06 as c06  # noqa: E402

STEM06 = "06_keep_alive_reuse_and_cost"
PAPER = ('Shahrad et al., "Serverless in the Wild: Characterizing and Optimizing the Serverless Workload at a Large '
         'Cloud Provider", USENIX ATC 2020')


class Written(Exercise):
    """A code cell the learner writes: a starting version in the lab, a worked one in the solution."""

    def __init__(self, lab: str, solution: str):
        super().__init__(lab, solution)

    def render(self, solved: bool) -> dict:
        return code(self.solution if solved else self.template)


MY_POLICY_LAB = """
class MyPolicy(ll.keepalive.KeepAlivePolicy):
    def __init__(self):
        self.last_idle = {}                 # function -> how long it was idle before its latest request (s)

    def on_invoke(self, function, now, idle):
        if idle:                            # None for a first request, 0.0 when another one was still running
            self.last_idle[function] = idle

    def on_idle(self, function, now):
        # return keep_alive seconds, or (prewarm, keep_alive): write your rule here
        return 600.0                        # for now: the fixed 10-minute baseline
"""

MY_POLICY_SOLUTION = """
class MyPolicy(ll.keepalive.KeepAlivePolicy):
    \"\"\"Expect the next idle time to be like the last one: keep the environment one and a half times that long
    (10 minutes while the function has no history, never more than 4 hours).\"\"\"

    def __init__(self):
        self.last_idle = {}

    def on_invoke(self, function, now, idle):
        if idle:
            self.last_idle[function] = idle

    def on_idle(self, function, now):
        idle = self.last_idle.get(function)
        if idle is None:
            return 600.0
        return min(4 * 3600, 1.5 * idle)
"""


# ----------------------------------------------------------------------------------------------------- lab 06
def lab06() -> list:
    fixed = ", ".join(str(m) for m in c06.FIXED_MINUTES)
    return [
        md(f"""
# 06 · Keep-alive policies and cost

**Goal:** see what decides whether a request starts cold, first with one environment and a formula, then on a
day of real production traffic: replay it under fixed keep-alives and under a policy that learns each
function's rhythm, draw the trade-off between cold starts and idle memory, and write a policy of your own.
Then read what a workload costs.

**Time:** about 25 minutes · {nav(6)}
"""),
        md("""
After an invoke, Lambda freezes the environment and keeps it for a while in case another request comes. If one
does, it thaws and serves it warm. If none comes within the [keep-alive](GLOSSARY.md#keep-alive) (the
[idle timeout](GLOSSARY.md#idle-timeout): the lab's `idle_timeout`, in seconds), the environment is shut down
and the next request is a [cold start](GLOSSARY.md#cold-start). AWS does not publish its keep-alive; people observe 5 to
15 minutes. The lab lets you choose it, and even replace it with a policy of your own.
"""),
        md("""
## 1. One environment, one keep-alive

Take the simplest case: a function limited to one environment ([reserved
concurrency](GLOSSARY.md#reserved-concurrency) 1) that gets a request every 100 s on average. A request starts
cold exactly when the gap since the previous request ended is longer than the keep-alive. For random (Poisson)
arrivals at rate λ that happens with probability e^(−λT).
"""),
        code("""
import math

import matplotlib.pyplot as plt

import lambdalab as ll

rate = 0.01
keep_alives = [60, 180, 600, 900]
measured = []
for keep_alive in keep_alives:
    # no recycling after hours or host leases here: only the keep-alive decides (see the box at the end)
    lab = ll.Lab(seed=6, trace="off", idle_timeout=keep_alive, environment_lifetime=None, worker_lease=None)
    lab.create_function("rare", None, timeout=60, duration=ll.Exponential(1.991), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="rare", ReservedConcurrentExecutions=1)
    lab.poisson("rare", rate, count=10_000)
    lab.run()
    s = lab.stats("rare")
    measured.append(s["cold_starts"] / s["invocations"])
"""),
        code("""
# NBVAL_CHECK_OUTPUT
for T, m in zip(keep_alives, measured):
    print(f"keep-alive {T:>4} s: {m:.4f} of requests cold   e^(-λT) = {math.exp(-rate * T):.4f}")
"""),
        md(f"""
**Exercise 1.** Same function, same traffic ({c06.COLD_RATE} requests per second), keep-alive
{c06.COLD_KEEP_ALIVE:g} s. What share of requests start cold? (Use the formula, or add
{c06.COLD_KEEP_ALIVE:g} to `keep_alives` and run the cells again.)
"""),
        Exercise("""
cold_share = {answer}   # a share between 0 and 1
""", f"math.exp(-rate * {c06.COLD_KEEP_ALIVE:g})"),
        check_cell("lab06.cold_share", "cold_share"),
        md(f"""
## 2. A day of real traffic

Real functions are not Poisson processes with one rate. Microsoft published a day-by-day trace of Azure
Functions in 2019 ({PAPER}): for each function, how many times it was invoked in each minute of the day, its
execution-time percentiles and its app's memory. The lab ships a sample of 1,000 functions of day 1 (Azure
Public Dataset, CC BY 4.0, sampled by the vHive invitro project; the attribution is in
`lambdalab/traces/data/azure2019/README.md`). `ll.traces.azure2019()` reads it. The trace says how many
requests came in each minute, not when: the lab spreads each minute's requests at random times within it,
from a seeded stream per function.
"""),
        code("""
day = ll.traces.azure2019()
per_function = sorted((f.invocations for f in day.functions), reverse=True)
"""),
        code("""
# NBVAL_CHECK_OUTPUT
print(day)
print(f"the 10 busiest functions make {sum(per_function[:10]) / day.invocations:.0%} of the invocations")
quiet_share = sum(n <= 24 for n in per_function) / len(day)
print(f"{quiet_share:.0%} of the functions are invoked at most once an hour on average")
"""),
        code("""
plt.figure(figsize=(7, 2.8))
plt.loglog(range(1, len(per_function) + 1), per_function)
plt.xlabel("functions, busiest first"); plt.ylabel("invocations in the day"); plt.tight_layout()
plt.show()
"""),
        md(f"""
A few functions get most of the traffic, and they always find a warm environment, whatever the keep-alive.
Keep-alive decides things for the many quiet functions. So the lab replays those: the functions invoked at
most {c06.QUIET_INVOCATIONS:,} times in the day, and of them half (the apps of `shard({c06.QUIET_SHARD[0]},
{c06.QUIET_SHARD[1]})`, split by app hash) so that a replay of the whole day takes a second or two.
`lab.replay(trace, keep_alive=...)` creates one Lambda function per trace function (memory and durations from
the trace) and schedules every invocation of the day.
"""),
        code(f"""
quiet = ll.traces.azure2019(functions=lambda f: f.invocations <= {c06.QUIET_INVOCATIONS}).shard{c06.QUIET_SHARD!r}
quiet
"""),
        md(f"""
## 3. What a fixed keep-alive spends, and what a policy can learn

Many functions run on a **timer**. Take one that fires every {c06.TIMER_EVERY_MINUTES} minutes, with
{c06.TIMER_MEMORY_MB} MB of memory: `ll.traces.timer(every={c06.TIMER_EVERY_MINUTES})` is a one-function trace of
it. Under the fixed 10-minute keep-alive, what happens to its environments? `lab.stats()` now also reports
`wasted_memory_gb_seconds`: memory held by idle environments, times how long they sat idle.
"""),
        code(f"""
timer = ll.traces.timer(every={c06.TIMER_EVERY_MINUTES}, memory_mb={c06.TIMER_MEMORY_MB})
for policy in (ll.keepalive.Fixed(600), ll.keepalive.HybridHistogram()):
    lab = ll.Lab(seed=0, trace="off")
    replay = lab.replay(timer, keep_alive=policy)
    lab.run(until=replay.end)
    s = lab.stats("timer")
    print(f"{{policy!r:38}} {{s['invocations']}} runs, {{s['cold_starts']}} cold, "
          f"{{s['wasted_memory_gb_seconds']:,.0f}} GB-s of idle memory")
"""),
        md(f"""
**Exercise 2.** Work out the first line by hand: in a day, how many GB-seconds of idle memory does the
{c06.TIMER_EVERY_MINUTES}-minute timer hold under the fixed 10-minute keep-alive? (The lab's figure is a little
lower: a worker host's lease ends during the day and takes one idle environment with it early.)
"""),
        Exercise("""
timer_waste = {answer}   # GB-seconds in the day
""", f"24 * 60 // {c06.TIMER_EVERY_MINUTES} * 600 * {c06.TIMER_MEMORY_MB} / 1024"),
        check_cell("lab06.timer_waste", "timer_waste"),
        md("""
The second line is the **hybrid histogram policy** of the paper (`ll.keepalive.HybridHistogram`). For each
function it keeps a histogram of idle times (the time from one invocation's end to the next request), in
1-minute bins over 4 hours. Once the histogram shows a pattern, the policy shuts an idle environment down at
once and [pre-warms](GLOSSARY.md#pre-warm) a new one (its Init runs with no request waiting) just before the 5th
percentile of the idle times, then keeps it until their 99th percentile. Without a pattern yet it keeps the
environment for the whole 4 hours. Step through one gap of the timer, three hours into the day, when the policy
has learnt the gap:
"""),
        code(f"""
lab = ll.Lab(seed=0, trace="full")
replay = lab.replay(ll.traces.timer(every={c06.TIMER_EVERY_MINUTES}, minutes=240),
                    keep_alive=ll.keepalive.HybridHistogram())
lab.run(until=replay.start + 3 * 3600 - 30)
with lab.scene("the hybrid policy pre-warms the timer's next environment") as prewarm:
    lab.run(until=replay.start + 3 * 3600 + {c06.TIMER_EVERY_MINUTES + 1} * 60)
ll.widgets.Stepper(prewarm)
"""),
        md(f"""
The request finds its environment ready (a [warm start](GLOSSARY.md#warm-start)); meanwhile nothing sat idle
for 10 minutes. Now the trade-off on the quiet functions of the real trace: fixed keep-alives of {fixed}
minutes and the hybrid policy, replayed in parallel with `ll.sweep` (one process per core; a
`dask.distributed.Client` as `executor=` runs the same sweep on a cluster). Following the paper, we compare
policies by the share of cold starts of the **75th-percentile function** (a quarter of the functions do worse)
against the idle memory, relative to the 10-minute keep-alive.
"""),
        code(f"""
def keep_alive_run_with(policy, seed=0):
    lab = ll.Lab(seed=seed, trace="off")
    replay = lab.replay(quiet, keep_alive=policy)
    lab.run(until=replay.end)
    s = replay.summary()
    return {{"p75_cold": s["app_cold_p75"], "idle_gb_s": s["wasted_memory_gb_seconds"], "cold_starts": s["cold_starts"]}}


def keep_alive_run(params, seed):
    if params["policy"] == "hybrid":
        return keep_alive_run_with(ll.keepalive.HybridHistogram(), seed)
    return keep_alive_run_with(ll.keepalive.Fixed(60 * params["minutes"]), seed)


grid = [{{"policy": "fixed", "minutes": m}} for m in {c06.FIXED_MINUTES!r}] + [{{"policy": "hybrid"}}]
rows = ll.sweep(keep_alive_run, grid, seeds=({c06.SEED},))
baseline = next(r for r in rows if r["minutes"] == {c06.BASELINE_MINUTES})
"""),
        code("""
# NBVAL_CHECK_OUTPUT
for r in rows:
    name = "hybrid histogram" if r["policy"] == "hybrid" else f"fixed {r['minutes']} min"
    print(f"{name:<17} 75th-percentile function {r['p75_cold']:6.1%} cold   "
          f"idle memory {r['idle_gb_s'] / baseline['idle_gb_s']:5.2f}x   {r['cold_starts']:,} cold starts")
"""),
        code("""
def pareto(ax, rows, extra=None):
    fixed = [r for r in rows if r["policy"] == "fixed"]
    ax.plot([r["idle_gb_s"] / baseline["idle_gb_s"] for r in fixed], [100 * r["p75_cold"] for r in fixed],
            "o-", color="tab:gray", label="fixed keep-alive")
    for i, r in enumerate(fixed):  # labels above and below the curve in turn, the last one on its left
        where = ((-4, -6), "right", "top") if i % 2 else ((5, 5), "left", "bottom")
        if r is fixed[-1]:
            where = ((-8, 0), "right", "center")
        ax.annotate(f"{r['minutes']} min", (r["idle_gb_s"] / baseline["idle_gb_s"], 100 * r["p75_cold"]),
                    textcoords="offset points", xytext=where[0], ha=where[1], va=where[2], fontsize=11)
    for r in rows:
        if r["policy"] == "hybrid":
            ax.plot(r["idle_gb_s"] / baseline["idle_gb_s"], 100 * r["p75_cold"], "*", ms=14, color="tab:orange",
                    label="hybrid histogram")
    if extra is not None:
        label, point = extra
        ax.plot(point["idle_gb_s"] / baseline["idle_gb_s"], 100 * point["p75_cold"], "D", ms=9,
                color="tab:blue", label=label)
    ax.margins(x=0.08, y=0.14)  # room for the labels of the points at the edges
    ax.set_xlabel("idle memory (× the 10-minute keep-alive)")
    ax.set_ylabel("75th-percentile function: % cold")
    ax.legend(loc="upper right")

fig, ax = plt.subplots(figsize=(7, 3.6))
pareto(ax, rows)
fig.tight_layout()
plt.show()
"""),
        md("""
Each fixed keep-alive buys fewer cold starts with more idle memory: the grey curve is the trade-off any
fixed setting can reach. The hybrid policy sits **below** it: fewer cold starts than the fixed keep-alive that
spends as much memory, because it spends memory on functions whose next request it can predict and not on
those that will start cold anyway. That is the paper's result, here on your machine.

## 4. Your policy

A keep-alive policy is an object the Worker Manager asks (see `help(ll.keepalive)`):

- `on_idle(function, now)`: an environment of `function` just went idle. Return `keep_alive` seconds, or
  `(prewarm, keep_alive)`: shut it down now, start a new one `prewarm` seconds from now and keep that one
  `keep_alive` seconds.
- `on_invoke(function, now, idle)` (optional): a request arrived; `idle` is how long the function had been idle.
"""),
        md(f"""
**Exercise 3.** Write a policy that beats a fixed keep-alive: fewer cold starts for the 75th-percentile quiet
function than the fixed keep-alive (of {fixed} minutes) that holds at least as much idle memory as yours. The
check replays the quiet functions with your policy (a few seconds). Start from the class below, which behaves
like the 10-minute baseline. (One idea: expect the next idle time to look like the last one.)
"""),
        Written(MY_POLICY_LAB, MY_POLICY_SOLUTION),
        Exercise("""
my_policy = {answer}   # MyPolicy() once on_idle has your rule
""", "MyPolicy()"),
        check_cell("lab06.my_policy", "my_policy"),
        md("""
## 5. Your turn: sliders

Move the fixed keep-alive and the hybrid policy's histogram range and percentiles; each time you let go, the
lab replays the quiet functions (a few seconds) and puts the result, the blue diamond, on the picture of
section 3. Which settings get below the grey curve? What does a shorter range do to the memory?
"""),
        code("""
# what the sweep measured already needs no new replay
measured = {("fixed", r["minutes"]): r for r in rows if r["policy"] == "fixed"}
measured[("hybrid", 4, 5, 99)] = next(r for r in rows if r["policy"] == "hybrid")


def explore(fig, policy, keep_alive_min, range_h, head_pct, tail_pct):
    if policy == "hybrid":
        key, label = ("hybrid", range_h, head_pct, tail_pct), f"hybrid: {range_h} h, {head_pct}th-{tail_pct}th pct"
        chosen = ll.keepalive.HybridHistogram(range=3600 * range_h, head=head_pct / 100, tail=tail_pct / 100)
    else:
        key, label = ("fixed", keep_alive_min), f"fixed {keep_alive_min} min"
        chosen = ll.keepalive.Fixed(60 * keep_alive_min)
    if key not in measured:
        measured[key] = keep_alive_run_with(chosen)
    point = measured[key]
    pareto(fig.subplots(), rows, (label, point))
    fig.tight_layout()
    return (f"{label}: 75th-percentile function {point['p75_cold']:.1%} cold, "
            f"{point['idle_gb_s'] / baseline['idle_gb_s']:.2f}x the idle memory of 10 minutes")


import ipywidgets

ll.widgets.Explorer(explore, title="Keep-alive on the quiet functions", size=(8, 3.6),
                    policy=ipywidgets.ToggleButtons(options=["fixed", "hybrid"], value="hybrid",
                                                    description="policy"),
                    keep_alive_min=(1, 240, 1, 10), range_h=(1, 8, 1, 4), head_pct=(0, 50, 1, 5),
                    tail_pct=(50, 100, 1, 99))
"""),
        md("""
## 6. The whole day (optional)

Everything above replayed the quiet functions. The whole sample is 11.6 million invocations; set `WHOLE_DAY` to
`True` to replay it under the 10-minute keep-alive, split by app over your cores with `replay_sharded` (a
`dask.distributed.Client` as `executor=` spreads it over a cluster). Expect several minutes, and a few hundred
MB of memory per process. At its busiest moment the day runs about 19,000 invocations at once, so the account's
concurrency limit is raised well above that (AWS raises the default 1,000 on request); each shard gets an equal
part of it, and `limit_bound` says whether any shard ever hit its part.
"""),
        code("""
WHOLE_DAY = False

if WHOLE_DAY:
    from lambdalab.shards import replay_sharded
    whole = replay_sharded(day, keep_alive=ll.keepalive.Fixed(600), shards=2, account_concurrency=40_000)
    print(whole)
    print(whole.summary())
"""),
        md("""
## 7. What it costs

On demand you pay for two things: **requests** (\\$0.20 per million) and **compute**: billed duration (rounded
up to the millisecond) × memory, in GB-seconds, at \\$0.0000166667 per GB-second (x86). The idle memory of the
sections above costs you nothing: it is the provider's cost, which is why AWS keeps its keep-alive short and
unpublished. Since August 2025 the Init phase of a cold start is billed too. Every REPORT line shows the billed
duration; `lab.stats()` adds it all up.
"""),
        code("""
small = ll.Lab(seed=6)
small.create_function("thumb", None, memory=512, timeout=10, duration=ll.Fixed(0.12))
lam = small.client("lambda")
for _ in range(3):
    lam.invoke(FunctionName="thumb")
for line in small.logs("thumb"):
    if line.startswith("REPORT"):
        print(line.split("\\t", 1)[1])
s = small.stats("thumb")
print(f"billed GB-s {s['billed_gb_seconds']:.4f}, cost ${s['cost_usd']:.8f}")
"""),
        md(f"""
If you want warm starts guaranteed, you pay for the idle memory yourself: [provisioned
concurrency](GLOSSARY.md#provisioned-concurrency) costs \\$0.0000041667 per GB-second for as long as it is
allocated, used or not, plus \\$0.0000097222 per GB-second of duration on it.

**Exercise 4.** A function gets {c06.MONTH_REQUESTS:,} requests a month; each runs {c06.MONTH_DURATION_MS} ms
(billed {c06.MONTH_DURATION_MS} ms) with {c06.MONTH_MEMORY_MB} MB of memory. What is the monthly bill in US
dollars, on demand, ignoring the free tier and cold starts?
"""),
        Exercise("""
monthly_bill = {answer}   # US dollars
""", f"{c06.MONTH_REQUESTS} * 0.20 / 1e6 + {c06.MONTH_REQUESTS} * {c06.MONTH_DURATION_MS / 1000} * "
     f"{c06.MONTH_MEMORY_MB} / 1024 * 0.0000166667"),
        check_cell("lab06.monthly_cost", "monthly_bill"),
        what_aws_does_differently([
            "AWS does not publish its keep-alive, and its policy is its own: idle environments are observed to "
            "last roughly 5-15 minutes, with no guarantee, and every environment is recycled after a few hours "
            "anyway (the lab's `environment_lifetime`, 4 h by default). You cannot choose a policy; provisioned "
            "concurrency is how you pay to keep environments warm.",
            "The trace is Azure Functions, not Lambda: an Azure app (all its functions share instances) becomes "
            "one Lambda function here (in this sample every app has one function); its memory is Azure's "
            "committed memory rounded into Lambda's 128-10,240 MB; durations are drawn from percentiles of "
            "30-second averages; the trace has no cold-start times, so every Init takes the lab's typical "
            "Python cold start.",
            "The hybrid policy here follows the paper with simplifications: when most idle times are longer "
            "than the histogram's range the paper forecasts the next one with ARIMA, the lab with the last "
            "such idle time; and a function needs 10 idle times before its histogram counts.",
            "Real prices have more parts: a monthly free tier (1M requests and 400,000 GB-s), Arm functions at "
            "about 20% less per GB-s, cheaper tiers at very high volume, ephemeral storage above 512 MB, data "
            "transfer, and Savings Plans. Provisioned concurrency is billed in 5-minute steps.",
        ]),
        md(f"""
## Summary

- An idle environment lives for the keep-alive; a request that comes later starts cold. With one
  environment and Poisson traffic the cold share is e^(−λT).
- On real traffic a fixed keep-alive spends idle memory on every function alike, also on those it cannot keep
  warm. A policy that learns each function's idle times (pre-warming before the request it expects) gets
  fewer cold starts for the same memory: below the fixed keep-alives' trade-off curve.
- On demand you pay per request and per GB-second of billed duration (now including Init); the idle memory is
  the provider's cost, unless you buy provisioned concurrency.

**Next:** {link(7)}: the Runtime API from the inside, with the real AWS runtime client.

{nav(6)}
"""),
    ]


# ----------------------------------------------------------------------------------------------------- build
def main(argv=None) -> int:
    return build_labs(((STEM06, lab06),), argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
