"""Checks and helpers for labs/08_cold_starts.ipynb: where a cold start's time goes and what cuts it.

``cold_start_parts(steps)`` reads a cold start's timed Steps (a scene) into named parts, the way the lab's
stacked bar shows them; ``stacked_bar`` draws several. The checks' right answers come from running the same
model the notebook runs (``SLOW_INIT`` in a fresh lab), so they follow the cost model if it is retuned.
"""
from __future__ import annotations

import functools

from . import register, words

#: the function every scenario of the lab deploys: 1.2 s of module-level work (a framework import)
SLOW_INIT = '''import time

time.sleep(1.2)          # module-level work: importing a big framework, loading a model...


def handler(event, context):
    return "ok"
'''

#: the parts of a cold start, in the order they happen (and the bar draws them)
PARTS = ("VPC ENI attach", "microVM boot", "code: worker cache", "code: AZ cache", "code: S3", "layers to /opt",
         "runtime init", "function init", "SnapStart restore")
COLOURS = ("#5A3A00", "#8C5A00", "#F3D6A0", "#D9A441", "#B87800", "#A0522D", "#F2BE4A", "#E69F00", "#F0E442")
_TIER = {"local": "code: worker cache", "az": "code: AZ cache", "s3": "code: S3"}
_PHASE = {"vpc": "VPC ENI attach", "microvm": "microVM boot", "extension_init": "runtime init",
          "runtime_init": "runtime init", "function_init": "function init", "restore": "SnapStart restore"}


def cold_start_parts(steps) -> dict[str, float]:
    """Seconds per part of the cold starts among ``steps`` (a scene, or ``lab.trace``), in PARTS order."""
    seconds = dict.fromkeys(PARTS, 0.0)
    for step in steps:
        detail = step.detail
        if "duration" not in detail or "phase" not in detail or detail.get("suppressed"):
            continue
        if step.action == "fetch_code":
            seconds[_TIER[detail["tier"]]] += detail["duration"]
        elif step.action == "fetch_image":
            for tier, part in detail["seconds"].items():
                seconds[_TIER[tier]] += part
        elif step.action == "extract_layers":
            seconds["layers to /opt"] += detail["duration"]
        elif detail["phase"] in _PHASE:
            seconds[_PHASE[detail["phase"]]] += detail["duration"]
    return seconds


def table(rows: dict[str, dict]) -> str:
    """The parts of several cold starts, one line per scenario: total = the non-zero parts, in ms."""
    width = max(len(name) for name in rows)
    lines = []
    for name, parts in rows.items():
        used = " + ".join(f"{p} {s * 1000:,.0f}" for p, s in parts.items() if s >= 0.0005) or "no cold start"
        lines.append(f"{name:<{width}} {sum(parts.values()) * 1000:>7,.0f} ms = {used}")
    return "\n".join(lines)


def stacked_bar(rows: dict[str, dict], title: str = "Where a cold start's time goes"):
    """A horizontal stacked bar per scenario (ms): returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.6))
    names = list(rows)[::-1]
    for part, colour in zip(PARTS, COLOURS):
        lefts = [sum(rows[n][p] for p in PARTS[:PARTS.index(part)]) * 1000 for n in names]
        widths = [rows[n][part] * 1000 for n in names]
        if any(widths):
            ax.barh(names, widths, left=lefts, color=colour, edgecolor="white", label=part)
    ax.set_xlabel("milliseconds from the frontend's accept to the handler's start")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


@functools.cache
def snapstart_saving_ms() -> float:
    """cold_start_p50 of SLOW_INIT as a plain zip function minus as a SnapStart version, in ms."""
    from ..lab import Lab

    times = []
    for snap in (False, True):
        lab = Lab(seed=8)
        lab.create_function("slow", SLOW_INIT, **({"SnapStart": {"ApplyOn": "PublishedVersions"}} if snap else {}))
        qualifier = {}
        if snap:
            lab.client("lambda").publish_version(FunctionName="slow")
            lab.run()
            qualifier = {"Qualifier": "1"}
        lab.submit(FunctionName="slow", **qualifier)
        lab.run()
        times.append(lab.stats("slow")["cold_start_p50"])
    return (times[0] - times[1]) * 1000


def _saving_hint(v) -> str:
    v = float(v)
    if v < 10:
        return "give milliseconds, not seconds (cold_start_p50 is in seconds: multiply by 1,000)."
    if v > 1300 * 1.5:
        return "subtract the SnapStart cold start from the zip one; both are in lab.stats(...)['cold_start_p50']."
    return "compare the two rows' totals in the table of section 5: zip minus SnapStart, in milliseconds."


register(
    "lab08.snapstart_saving",
    verify=lambda v: abs(float(v) - snapstart_saving_ms()) <= 0.05 * snapstart_saving_ms(),
    hint=_saving_hint,
    right=[snapstart_saving_ms(), round(snapstart_saving_ms()), f"{snapstart_saving_ms():.0f}"],
    wrong=[snapstart_saving_ms() / 1000, 1200, 320, snapstart_saving_ms() * 2],
    explain="the restore replaces the runtime bootstrap, the code fetch and all 1.2 s of module-level work: "
            "they ran once, at PublishVersion. What is left is the microVM and resuming the snapshot.",
)

def _is_worker_tier(v) -> bool:
    text = words(v).replace("'", "")
    return ("worker" in text or "local" in text or text == "l1") and not any(t in text for t in ("az", "s3"))


register(
    "lab08.base_tier",
    verify=_is_worker_tier,
    hint=lambda v: ("that is where they came from for the *first* image. The second function runs on the same "
                    "worker: look at which tier its fetch_image Step names for the base image's chunks."
                    if words(v) in {"az cache", "az", "az level cache", "s3"} else
                    "answer with one of the three cache tiers named at the start of section 3."),
    right=["worker cache", "local", "the worker's local cache"],
    wrong=["az cache", "S3", "ECR"],
    explain="chunks are named by their content, so the base image's chunks that the first function pulled onto "
            "this worker serve the second one too; only its own layer had to come from further away.",
)

_AFTER = {"register after restore", "register_after_restore", "after restore", "after_restore",
          "snapshot restore py register after restore"}


register(
    "lab08.restore_hook",
    verify=lambda v: words(v).removeprefix("snapshot restore py.").strip() in {words(x) for x in _AFTER},
    hint=lambda v: ("before_snapshot hooks run once, at PublishVersion, so every copy still shares what they "
                    "made. You need code that runs in each environment after it is resumed."
                    if "before" in words(v) else
                    "name the function of snapshot_restore_py that registers code to run in every restored "
                    "environment."),
    right=["register_after_restore", "snapshot_restore_py.register_after_restore", "after_restore"],
    wrong=["register_before_snapshot", "handler", "random.seed"],
    explain="register_after_restore(fn) runs fn in each environment right after it resumes from the snapshot, "
            "before its first invoke: the place to reseed, make new ids and reopen connections.",
)
