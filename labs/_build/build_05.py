#!/usr/bin/env python3
"""Generate labs/05_scaling_and_concurrency.ipynb, labs/06_keep_alive_reuse_and_cost.ipynb and their solutions.

    PYTHONPATH=. python labs/_build/build_05_06.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_05_06.py --no-run   # write only

Uses the cell helpers of build_00_01.py, so every lab is written the same way. The exercise constants come from
lambdalab/check/lab05.py and lab06.py, so the text, the code and the checks cannot drift apart. Both labs use
``trace="off"`` runs of tens of thousands of requests: enough for the statistics to settle, small enough for
the whole notebook to run in well under a minute.
"""
from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from build_00_01 import (build_labs, CHECK, Exercise, check_cell, code, md, nav, link,
                         what_aws_does_differently)  # noqa: E402

from lambdalab.check import lab05 as c05  # noqa: E402
from lambdalab.check import lab06 as c06  # noqa: E402

STEM05 = "05_scaling_and_concurrency"
STEM06 = "06_keep_alive_reuse_and_cost"


# ----------------------------------------------------------------------------------------------------- lab 05
def lab05() -> list:
    return [
        md(f"""
# 05 · Scaling and concurrency

**Goal:** see how many execution environments a function gets and how fast it gets them: concurrency as
requests in flight, the scaling rate that throttles a sudden burst, reserved and provisioned concurrency, and
the Erlang-B formula that predicts how often a concurrency limit turns callers away.

**Time:** about 25 minutes · {nav(5)}
"""),
        md("""
Every run in this lab uses `trace="off"`: the lab keeps counters and per-minute metrics but records no steps,
so tens of thousands of requests take a second or two. `lab.stats()` and `lab.metrics()` work the same in
every trace mode (and give the same numbers for the same seed).
"""),
        md("""
## 1. Concurrency is requests in flight

An execution environment serves **one request at a time**. So the number of environments a function needs at
a moment is the number of its requests that are running right then: its *concurrency*. On average that is
the arrival rate times the time each request stays (Little's law).

Below, requests arrive at random (a Poisson process) at 0.9 per second for six hours, and each takes
1.991 s on average.
"""),
        code("""
import math

import matplotlib.pyplot as plt

import lambdalab as ll

lab = ll.Lab(seed=5, trace="off")
lab.create_function("api", None, timeout=60, duration=ll.Exponential(1.991), init_duration=ll.Exponential(0.25))
start, hours = lab.now, 6
lab.poisson("api", 0.9, duration=hours * 3600)       # about 19,000 requests
lab.run(until=start + hours * 3600)                  # averages are taken over these 6 hours
stats = lab.stats("api")
"""),
        code(f"""
{CHECK}
print(f"requests            {{stats['requests']:,}}")
print(f"busy environments   {{stats['avg_busy_environments']:.2f}} on average (most at once: {{stats['max_concurrency']}})")
print(f"rate x duration     {{0.9 * 1.991:.2f}}")
print(f"cold starts         {{stats['cold_starts']}} ({{stats['p_cold']:.2%}} of requests)")
"""),
        md("""
The average matches rate × duration. The *peak* is what limits you, though: Lambda counts concurrency at
every instant, and `ConcurrentExecutions` (the maximum in each minute) is the metric to watch.
"""),
        code("""
minutes = lab.metrics("api", "ConcurrentExecutions")[:240]
plt.figure(figsize=(9, 2.8))
plt.step([t / 3600 for t, _ in minutes], [v for _, v in minutes], where="post")
plt.axhline(0.9 * 1.991, color="gray", ls="--", label="rate x mean duration")
plt.xlabel("hours"); plt.ylabel("ConcurrentExecutions (max per minute)"); plt.legend(); plt.tight_layout()
plt.show()
"""),
        md(f"""
**Exercise 1.** An API function receives {c05.LITTLE_RATE:g} requests per second and each takes
{c05.LITTLE_DURATION * 1000:g} ms on average. How many execution environments are busy on average?
"""),
        Exercise("""
busy_environments = {answer}   # a number
""", f"{c05.LITTLE_RATE:g} * {c05.LITTLE_DURATION:g}"),
        check_cell("lab05.littles_law", "busy_environments"),
        md(f"""
## 2. A burst meets the scaling rate

Concurrency cannot jump to any height at once. Each function may add **1,000 environments at once, then
1,000 more every 10 seconds** (refilled continuously, and unused capacity does not pile up). A request that
would need an environment beyond that gets `429 TooManyRequestsException` and must retry.

Here {c05.BURST_CALLERS:,} callers arrive together, each wanting a 2-minute job. Every second the callers that
were throttled try again. (The account limit is raised to 5,000 so that only the scaling rate is in the way.)
"""),
        code(f"""
burst = ll.Lab(seed=5, trace="off", account_concurrency=5000)
burst.create_function("spike", None, timeout=900, duration=ll.Fixed(120.0), init_duration=ll.Fixed(0.5))
start = burst.now

waiting = {c05.BURST_CALLERS}          # callers that have not got an environment yet
seconds, environments, throttled = [], [], []
for second in range(45):
    burst.run(until=start + second)
    attempts = [burst.submit(FunctionName="spike") for _ in range(waiting)]
    refused = [inv for inv in attempts if inv.error is not None]
    waiting = len(refused)
    seconds.append(second)
    environments.append(len(burst.fleet.environments))
    throttled.append(len(refused))

print(refused[0].error.response["Error"]["Code"] if refused else "nobody throttled in the last second")
"""),
        code("""
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(seconds, environments, label="execution environments")
ax.bar(seconds, throttled, color="tab:red", alpha=0.4, label="429s in that second")
ax.set_xlabel("seconds after the burst"); ax.set_ylabel("count"); ax.legend(); fig.tight_layout()
plt.show()
"""),
        code(f"""
{CHECK}
for s in (0, 5, 10, 15, 20, 25):
    print(f"t = {{s:>2}} s: {{environments[s]:>5,}} environments, {{throttled[s]:>5,}} callers throttled")
"""),
        md("""
**Exercise 2.** How many seconds after the burst are all of the callers running? Read it off the plot, or
work it out from the scaling rate.
"""),
        Exercise("""
seconds_to_serve_everyone = {answer}   # a number of seconds
""", "next(s for s, n in zip(seconds, throttled) if n == 0)"),
        check_cell("lab05.scale_seconds", "seconds_to_serve_everyone"),
        md("""
## 3. Reserved and provisioned concurrency

Concurrency is shared by every function in a region: the **account limit** (1,000 by default). Two settings
carve it up:

- **Reserved concurrency** (`put_function_concurrency`) sets aside a number of environments for one function
  and caps it there. Requests beyond the cap get 429 with `Reason: ReservedFunctionConcurrentInvocationLimitExceeded`.
  At least 100 must stay unreserved for everyone else.
- **Provisioned concurrency** (`put_provisioned_concurrency_config`, on a version or alias) initialises
  environments *before* any request needs them. Requests use them first, never wait for Init, and spill
  over to ordinary on-demand environments when all are busy.
"""),
        code("""
shop = ll.Lab(seed=5, trace="off")
lam = shop.client("lambda")
shop.create_function("report", None, timeout=60, duration=ll.Fixed(5.0), init_duration=ll.Fixed(2.0))
lam.put_function_concurrency(FunctionName="report", ReservedConcurrentExecutions=5)
attempts = [shop.submit(FunctionName="report") for _ in range(8)]   # eight callers at the same moment
for i, inv in enumerate(attempts, 1):
    if inv.error is None:
        print(f"caller {i}: accepted ({inv.status})")
    else:
        error = inv.error.response
        print(f"caller {i}: {error['ResponseMetadata']['HTTPStatusCode']} {error['Error']['Code']} ({error['Reason']})")
"""),
        md("""
Now a function with a slow Init (2 s) behind a version with 10 provisioned environments, hit by 15
simultaneous requests. Compare how long the callers wait with and without the provisioned environments.
"""),
        code("""
def fifteen_at_once(provisioned):
    lab = ll.Lab(seed=5, trace="off")
    lam = lab.client("lambda")
    lab.create_function("checkout", None, timeout=60, duration=ll.Fixed(0.2), init_duration=ll.Fixed(2.0))
    version = lam.publish_version(FunctionName="checkout")["Version"]
    if provisioned:
        lam.put_provisioned_concurrency_config(FunctionName="checkout", Qualifier=version,
                                               ProvisionedConcurrentExecutions=provisioned)
        lab.advance(30)                     # let the provisioned environments initialise
    invs = [lab.submit(FunctionName="checkout", Qualifier=version) for _ in range(15)]
    lab.advance(30)
    waits = sorted(round(inv.t_end - inv.t_arrival, 2) for inv in invs)
    return sum(inv.cold for inv in invs), waits

for provisioned in (0, 10):
    cold, waits = fifteen_at_once(provisioned)
    print(f"provisioned {provisioned:>2}: {cold:>2} cold starts, waits (s): {waits}")
"""),
        md("""
With 10 provisioned environments, 10 callers wait only for their 0.2 s of work; the other 5 spill over to
on-demand environments and pay the 2 s Init. Provisioned concurrency is billed for every second it is
allocated, used or not (lab 06 looks at the bill).

## 4. How often does a limit throttle? The Erlang-B curve

With a limit of *c* environments and no queue (a synchronous invoke never waits for a free environment), the
share of requests that find all *c* busy depends only on the offered load ρ = rate × mean duration. Telephone
engineers worked it out a century ago: the **Erlang-B** formula. Below we measure it with reserved concurrency
*c* = 1 ... 8 and compare.
"""),
        code(f"""
def erlang_b(c, rho):
    terms = [rho ** k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)

rate, mean = {c05.ERLANG_RATE}, {c05.ERLANG_MEAN}
limits = list(range(1, 9))
measured = []
for c in limits:
    lab = ll.Lab(seed=c, trace="off")
    lab.create_function("limited", None, timeout=60, duration=ll.Exponential(mean), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=c)
    lab.poisson("limited", rate, count=12_000)
    lab.run()
    measured.append(lab.stats("limited")["p_throttle"])

plt.figure(figsize=(7, 3.2))
plt.semilogy(limits, [erlang_b(c, rate * mean) for c in limits], "k-", label="Erlang-B formula")
plt.semilogy(limits, measured, "o", label="measured in the lab")
plt.axhline({c05.THROTTLE_BUDGET}, color="tab:red", ls=":", label="1% of requests")
plt.xlabel("reserved concurrency c"); plt.ylabel("share throttled (429)"); plt.legend(); plt.tight_layout()
plt.show()
"""),
        code(f"""
{CHECK}
for c, m in zip(limits, measured):
    print(f"c = {{c}}: measured {{m:.4f}}   formula {{erlang_b(c, rate * mean):.4f}}")
"""),
        md(f"""
**Exercise 3.** At {c05.ERLANG_RATE} requests per second of {c05.ERLANG_MEAN} s each, what is the *smallest*
reserved concurrency that keeps throttles under 1% of requests?
"""),
        Exercise("""
smallest_limit = {answer}   # a whole number of environments
""", f"next(c for c in limits if erlang_b(c, rate * mean) < {c05.THROTTLE_BUDGET})"),
        check_cell("lab05.min_reserved", "smallest_limit"),
        md("""
## 5. Your turn: rate against a limit

Move the sliders: the **rate** of requests (per second, each taking 0.5 s on average) and the function's
**reserved concurrency**. Each time you let go, the lab runs half an hour of that traffic afresh and redraws.
On the left, each minute's invocations and throttles; on the right, the Erlang-B curve for this load with the
lab's measurement at your limit. Try: at 8 requests per second, how high must the limit go before the red
disappears? What happens to the answer when the rate doubles?
"""),
        code("""
MEAN = 0.5    # seconds per request


def rate_against_limit(fig, rate, reserved_concurrency):
    lab = ll.Lab(seed=5, trace="off")
    lab.create_function("api", None, timeout=60, duration=ll.Exponential(MEAN), init_duration=ll.Fixed(0.0))
    lab.client("lambda").put_function_concurrency(FunctionName="api",
                                                  ReservedConcurrentExecutions=reserved_concurrency)
    lab.poisson("api", rate, duration=1800)
    lab.run()
    s = lab.stats("api")
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    ran = [v for _, v in lab.metrics("api", "Invocations")]
    refused = [v for _, v in lab.metrics("api", "Throttles")] or [0] * len(ran)
    minutes = range(len(ran))
    left.bar(minutes, ran, color="tab:green", label="invocations")
    left.bar(minutes, refused[:len(ran)], bottom=ran, color="tab:red", label="throttled (429)")
    left.set_xlabel("minute"); left.set_ylabel("requests per minute"); left.legend(loc="lower right")
    limits = list(range(1, 31))
    right.semilogy(limits, [max(erlang_b(c, rate * MEAN), 1e-6) for c in limits], "k-", label="Erlang-B")
    right.semilogy([reserved_concurrency], [max(s["p_throttle"], 1e-6)], "o", color="tab:red", ms=9,
                   label="measured")
    right.set_xlabel("reserved concurrency"); right.set_ylabel("share throttled"); right.legend()
    fig.tight_layout()
    return (f"{s['requests']:,} requests, {s['p_throttle']:.2%} throttled (Erlang-B: "
            f"{erlang_b(reserved_concurrency, rate * MEAN):.2%}), at most {s['max_concurrency']} running at once")


ll.widgets.Explorer(rate_against_limit, title="Rate against a concurrency limit",
                    rate=(1.0, 20.0, 1.0, 8.0), reserved_concurrency=(1, 30, 1, 5))
"""),
        what_aws_does_differently([
            "The scaling rate here is today's (since late 2023): per function, 1,000 environments every 10 s. "
            "Before that an account-wide burst of 500-3,000 (by region) was followed by +500 per minute.",
            "Real callers do not retry on a fixed 1 s beat: the AWS SDKs back off exponentially with jitter, and "
            "many callers (API Gateway, for one) just pass the 429 on.",
            "Allocating provisioned concurrency takes minutes in AWS, and Application Auto Scaling can change it "
            "on a schedule or on utilisation; here it is ready after one Init.",
            "Erlang-B assumes Poisson arrivals and no queue. Synchronous invokes fit; asynchronous invokes and "
            "event source mappings queue work instead of dropping it, so a limit delays them rather than "
            "refusing them (lab 03).",
            "The account limit (1,000 by default) can be raised through a quota request.",
        ]),
        md(f"""
## Summary

- Concurrency = requests in flight = rate × duration on average; each needs its own environment.
- A function scales by 1,000 environments at once, then 1,000 per 10 s; beyond that callers get 429.
- Reserved concurrency caps a function (and guarantees it that much); provisioned concurrency pre-initialises
  environments so requests skip Init, spilling over to on-demand ones when all are busy.
- With a limit and no queue, the throttle share follows the Erlang-B formula of the offered load.

**Next:** {link(6)}: how long idle environments live, which one a warm start reuses, and what it all costs.

{nav(5)}
"""),
    ]


# ----------------------------------------------------------------------------------------------------- lab 06
def lab06() -> list:
    return [
        md(f"""
# 06 · Keep-alive, reuse and cost

**Goal:** see what decides whether a request starts cold: how long idle environments are kept alive, and which
idle environment a warm start reuses; then read what a workload costs, on demand and with provisioned
concurrency.

**Time:** about 25 minutes · {nav(6)}
"""),
        md("""
After an invoke, Lambda freezes the environment and keeps it for a while in case another request comes. If
one does, it thaws and serves it warm. If none comes within the **keep-alive** (the lab's `idle_timeout`, in
seconds), the environment is shut down and the next request starts cold. AWS does not publish its keep-alive;
people observe 5 to 15 minutes. The lab lets you choose it.
"""),
        md("""
## 1. One environment, one keep-alive

Take the simplest case: a function limited to one environment (reserved concurrency 1) that gets a request
every 100 s on average. A request starts cold exactly when the gap since the previous request ended is longer
than the keep-alive. For random (Poisson) arrivals at rate λ that happens with probability e^(−λT).
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
        md("""
## 2. A day of traffic

Real traffic has a rhythm. Below, a function is quiet at night (one request every 50 s) and busy by day
(up to about half a request per second at noon). We replay the same seeded day with different keep-alives,
then with different **reuse policies**: which idle environment a warm start takes when several are free.

- `most_recent` (the lab's default, and close to what AWS is observed to do): the one that became idle last.
- `least_recent`: the one that has been idle longest.
- `random`.
"""),
        code("""
def day_of_traffic(lab, function):
    # one Poisson segment per hour: 0.02/s at night, a sine-shaped day peaking at 0.52/s at noon
    for hour in range(24):
        busy = max(0.0, math.sin(math.pi * (hour - 6) / 12))
        lab.poisson(function, 0.02 + 0.5 * busy, duration=3600, start=lab.now + hour * 3600)

def one_day(idle_timeout=600, reuse="most_recent"):
    lab = ll.Lab(seed=6, trace="off", idle_timeout=idle_timeout, reuse=reuse)
    lab.create_function("shop", None, memory=1024, timeout=30, duration=ll.LogNormal(0.3, 0.6))
    start = lab.now
    day_of_traffic(lab, "shop")
    lab.run(until=start + 24 * 3600)
    return lab

day = one_day()
per_hour = [v for _, v in day.metrics("shop", "Invocations", period=3600)]
plt.figure(figsize=(9, 2.6))
plt.bar(range(len(per_hour)), per_hour)
plt.xlabel("hour of the day"); plt.ylabel("requests"); plt.tight_layout()
plt.show()
"""),
        code("""
timeouts = [60, 300, 600, 1800]
sweep = {t: (day if t == 600 else one_day(idle_timeout=t)) for t in timeouts}

def row(label, lab):
    s = lab.stats("shop")
    print(f"{label:<22} {s['requests']:>6,} requests  {s['p_cold']:7.2%} cold  "
          f"{s['avg_environments']:6.2f} environments on average  ${s['cost_usd']:.4f}")
"""),
        code("""
# NBVAL_CHECK_OUTPUT
for t in timeouts:
    row(f"idle_timeout={t}", sweep[t])
"""),
        code("""
plt.figure(figsize=(6, 3))
plt.semilogx(timeouts, [sweep[t].stats("shop")["p_cold"] for t in timeouts], "o-")
plt.xlabel("idle_timeout (s)"); plt.ylabel("share of requests cold"); plt.tight_layout()
plt.show()
"""),
        md("""
A longer keep-alive helps most at night, when gaps between requests are long. By day the environments
rarely sit idle long enough to expire, whatever the setting. Now the reuse policies, at the default
keep-alive of 600 s:
"""),
        code("""
policies = {"most_recent": day, "least_recent": one_day(reuse="least_recent"), "random": one_day(reuse="random")}
"""),
        code("""
# NBVAL_CHECK_OUTPUT
for name, lab in policies.items():
    row(name, lab)
"""),
        md("""
**Exercise 2.** Which reuse policy keeps the most environments alive? (Think about why: which environments
does each policy leave untouched long enough to expire?)
"""),
        Exercise("""
policy = {answer}   # the policy name, spelt as for the reuse= option
""", 'max(policies, key=lambda name: policies[name].stats("shop")["avg_environments"])'),
        check_cell("lab06.most_envs_policy", "policy"),
        md("""
## 3. What it costs

On demand you pay for two things: **requests** (\\$0.20 per million) and **compute**: billed duration (rounded
up to the millisecond) × memory, in GB-seconds, at \\$0.0000166667 per GB-second (x86). Idle environments cost
you nothing, which is why the keep-alive hardly moved the bill above; but since August 2025 the Init phase of
a cold start is billed too. Every REPORT line shows the billed duration; `lab.stats()` adds it all up.
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
        md("""
**Provisioned concurrency** is billed differently: \\$0.0000041667 per GB-second for as long as it is
allocated, used or not, plus \\$0.0000097222 per GB-second of duration on it (cheaper than on-demand compute).
Here is the same day with 2 provisioned environments on a published version:
"""),
        code("""
def one_day_provisioned(n):
    lab = ll.Lab(seed=6, trace="off")
    lam = lab.client("lambda")
    lab.create_function("shop", None, memory=1024, timeout=30, duration=ll.LogNormal(0.3, 0.6))
    version = lam.publish_version(FunctionName="shop")["Version"]
    lam.put_provisioned_concurrency_config(FunctionName="shop", Qualifier=version, ProvisionedConcurrentExecutions=n)
    start = lab.now
    day_of_traffic(lab, f"shop:{version}")
    lab.run(until=start + 24 * 3600)
    return lab

row("on demand", day)
row("2 provisioned", one_day_provisioned(2))
"""),
        md(f"""
Cold starts were already rare for this function (a fraction of a percent), so two provisioned environments
remove only some of them, while the bill grows several times over: allocated capacity is paid for through the
quiet night too. Provisioned concurrency pays off when the environments would be busy most of the time anyway,
or when a cold start is too slow for the caller at any price.

**Exercise 3.** A function gets {c06.MONTH_REQUESTS:,} requests a month; each runs {c06.MONTH_DURATION_MS} ms
(billed {c06.MONTH_DURATION_MS} ms) with {c06.MONTH_MEMORY_MB} MB of memory. What is the monthly bill in US
dollars, on demand, ignoring the free tier and cold starts?
"""),
        Exercise("""
monthly_bill = {answer}   # US dollars
""", f"{c06.MONTH_REQUESTS} * 0.20 / 1e6 + {c06.MONTH_REQUESTS} * {c06.MONTH_DURATION_MS / 1000} * "
     f"{c06.MONTH_MEMORY_MB} / 1024 * 0.0000166667"),
        check_cell("lab06.monthly_cost", "monthly_bill"),
        md("""
## 4. Your turn: keep-alive, traffic and memory

Three sliders for the single-environment function of section 1: the **rate** of requests, the **idle
timeout** (keep-alive) and the **memory size**. Each time you let go, the lab replays 3,000 requests afresh.
On the left, the share of cold starts against the keep-alive (the curve is e^(−λT); the dot is the lab's
measurement at your setting); on the right, what a million such requests cost, split into the request charge,
the compute charge of the invokes and that of the billed Init phases. Which slider moves the bill most? Which
one moves the cold share?
"""),
        code("""
import numpy as np

PRICE_PER_REQUEST = 0.20 / 1e6


def keep_alive_and_cost(fig, rate, idle_timeout, memory):
    lab = ll.Lab(seed=6, trace="off", idle_timeout=idle_timeout, environment_lifetime=None, worker_lease=None)
    lab.create_function("rare", None, memory=memory, timeout=60, duration=ll.Exponential(1.991),
                        init_duration=ll.Fixed(0.4))
    lab.client("lambda").put_function_concurrency(FunctionName="rare", ReservedConcurrentExecutions=1)
    lab.poisson("rare", rate, count=3000)
    lab.run()
    s = lab.stats("rare")
    cold = s["cold_starts"] / s["invocations"]
    left, right = fig.subplots(1, 2)
    keep = np.geomspace(10, 3600, 80)
    left.semilogx(keep, np.exp(-rate * keep), "k-", label="e^(−λT)")
    left.semilogx([idle_timeout], [cold], "o", color="tab:orange", ms=9, label="measured")
    left.set_xlabel("idle timeout T (s)"); left.set_ylabel("share of requests cold"); left.legend()
    per_million = 1e6 / s["invocations"]
    init_gb_s = s["cold_starts"] * 0.4 * memory / 1024 * per_million
    compute = s["cost_usd"] * per_million - 1e6 * PRICE_PER_REQUEST
    parts = {"requests": 1e6 * PRICE_PER_REQUEST, "invoke compute": compute - init_gb_s * 0.0000166667,
             "Init compute": init_gb_s * 0.0000166667}
    right.bar(list(parts), list(parts.values()), color=["tab:gray", "tab:green", "tab:orange"])
    right.set_ylabel("US dollars per million requests")
    fig.tight_layout()
    return (f"{cold:.1%} of requests cold, {s['avg_environments']:.2f} environments alive on average, "
            f"{s['cost_usd'] * per_million:.2f} dollars per million requests")


ll.widgets.Explorer(keep_alive_and_cost, title="Keep-alive, traffic and memory",
                    rate=(0.002, 0.05, 0.002, 0.01), idle_timeout=(30, 1800, 30, 600),
                    memory=(128, 3008, 64, 512))
"""),
        what_aws_does_differently([
            "AWS does not publish its keep-alive or its reuse policy. Idle environments are observed to last "
            "roughly 5-15 minutes, with no guarantee, and every environment is recycled after a few hours "
            "anyway (the lab's `environment_lifetime`, 4 h by default). Provisioned environments are recycled "
            "too, and replaced at once: the allocation stays.",
            "Real prices have more parts: a monthly free tier (1M requests and 400,000 GB-s), Arm functions at "
            "about 20% less per GB-s, cheaper tiers at very high volume, ephemeral storage above 512 MB, data "
            "transfer, and Savings Plans.",
            "Provisioned concurrency is billed from when you configure it until you remove it, rounded up to "
            "5 minutes; the lab bills it per second.",
            "Whether Init is billed depends on the packaging and the date: before August 2025, on-demand zip "
            "functions on managed runtimes had their Init phase free.",
        ]),
        md(f"""
## Summary

- An idle environment lives for the keep-alive; a request that comes later starts cold. With one
  environment and Poisson traffic the cold share is e^(−λT).
- Which idle environment a warm start takes matters: most-recent-first lets spares expire, least-recent-first
  keeps them all alive.
- On demand you pay per request and per GB-second of billed duration (now including Init); provisioned
  concurrency adds a charge for every second it is allocated.

**Next:** {link(7)}: the Runtime API from the inside, with the real AWS runtime client.

{nav(6)}
"""),
    ]


# ----------------------------------------------------------------------------------------------------- build
def main(argv=None) -> int:
    return build_labs(((STEM05, lab05), (STEM06, lab06)), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
