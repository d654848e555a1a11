#!/usr/bin/env python3
"""Generate labs/05_scaling_and_concurrency.ipynb and its solution (lab 06 has its own script, build_06.py).

    PYTHONPATH=. python labs/_build/build_05.py            # write, execute (for golden outputs), strip
    PYTHONPATH=. python labs/_build/build_05.py --no-run   # write only

Uses the cell helpers of build_00_01.py, so every lab is written the same way. The exercise constants come from
lambdalab/check/lab05.py, so the text, the code and the checks cannot drift apart. The lab uses
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

STEM05 = "05_scaling_and_concurrency"


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
    left.set_xlabel("minute"); left.set_ylabel("requests per minute")
    limits = [c for c in range(1, 31) if erlang_b(c, rate * MEAN) >= 1e-6]   # the log axis stops at 1e-6
    right.semilogy(limits, [erlang_b(c, rate * MEAN) for c in limits], "k-", label="Erlang-B")
    right.semilogy([reserved_concurrency], [max(s["p_throttle"], 1e-6)], "o", color="tab:red", ms=9,
                   label="measured")
    right.set_xlim(0, 31); right.set_ylim(5e-7, 2)
    right.set_xlabel("reserved concurrency"); right.set_ylabel("share throttled")
    # one legend in a row of its own above both plots: never over the bars, the curve or the point
    handles = [h for ax in (left, right) for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="upper center", ncol=4, frameon=False, columnspacing=1.2, handlelength=1.5)
    fig.tight_layout(rect=(0, 0, 1, 0.86))
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


# ----------------------------------------------------------------------------------------------------- build
def main(argv=None) -> int:
    return build_labs(((STEM05, lab05),), argv, __doc__)

if __name__ == "__main__":
    sys.exit(main())
