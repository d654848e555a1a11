#!/usr/bin/env python3
"""Generate labs/08_cold_starts.ipynb and its solution notebook.

    PYTHONPATH=. python labs/_build/build_08.py            # write, run (golden outputs), strip
    PYTHONPATH=. python labs/_build/build_08.py --no-run   # write only

Uses the cell helpers of labs/_build/build_00_01.py so this lab is written like the others. The function the
scenarios deploy, the part-by-part reading of a cold start and the checks live in lambdalab/check/lab08.py.
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from build_00_01 import (COURSE, CHECK, build_labs, Exercise, check_cell, code, md, nav,  # noqa: E402
                         what_aws_does_differently)

STEM = "08_cold_starts"
INDEX = [stem for stem, *_ in COURSE].index(STEM)


def lab08() -> list:
    return [
        md(f"""
# 08 · Cold starts: where the time goes and what cuts it

**Goal:** take a cold start apart (placement, microVM, code fetch by cache tier, runtime and function init),
then try each tool AWS offers against it: bigger packages and layers, container images, SnapStart, VPC
networking old and new, provisioned concurrency, and memory. You will measure each one on the same function
and see its cost.

**Time:** about 25 minutes · {nav(INDEX)}
"""),
        md("""
## 1. One cold start, part by part

Every scenario below deploys the same Python function: its module-level code takes 1.2 s (think of importing a
big framework or loading a model), its handler returns at once. `cold(lab, name)` invokes it once inside a
*scene* and reads the cold start's timed steps into parts (`lambdalab.check.lab08.cold_start_parts`).
"""),
        code("""
import random

import matplotlib.pyplot as plt

import lambdalab as ll
from lambdalab.check.lab08 import SLOW_INIT, cold_start_parts, stacked_bar, table
from lambdalab.lab import make_zip

print(SLOW_INIT)
rows = {}                                   # scenario -> seconds per part


def cold(lab, name, label, **invoke):
    \"\"\"Invoke `name` once in a scene; remember the parts of its cold start under `label`.\"\"\"
    with lab.scene(f"{label}: a cold start") as scene:
        lab.submit(FunctionName=name, **invoke)
        lab.run()
    rows[label] = cold_start_parts(scene.steps)
    return scene
"""),
        code("""
lab = ll.Lab(seed=8)
lab.create_function("zip", SLOW_INIT)
scene = cold(lab, "zip", "zip, 1 KB")
ll.widgets.Stepper(scene)
"""),
        md("""
Step through it: the **frontend** accepts the request, the **Worker Manager** finds no idle environment, the
**Placement Service** picks a worker, the worker boots a **microVM** (125 ms, Firecracker), the code comes
from the nearest **cache tier** that has it (the first time: S3), then Init: the **runtime** bootstraps and the
**module-level code** runs. Placement itself takes no time here; the parts that do:
"""),
        code(f"""
{CHECK}
print(table(rows))
"""),
        md("""
## 2. Bigger packages and layers

Lambda downloads a .zip package (through the same caches) and unpacks it, and unpacks each
[layer](GLOSSARY.md#layer) under
`/opt` in order. So what you ship counts: below the function carries 30 MB of its own data and two 30 MB
layers (incompressible, as model weights or native libraries are). The layers' Python files are importable
from `/opt/python`, and handler code can read `/opt/...` like any file.
"""),
        code("""
blob = random.Random(8).randbytes(30_000_000)        # 30 MB that do not compress
lam = lab.client("lambda")
layers = [lam.publish_layer_version(LayerName=f"deps{i}", Content={"ZipFile": make_zip({f"python/part{i}.bin": blob})},
                                    CompatibleRuntimes=["python3.12"])["LayerVersionArn"] for i in (1, 2)]
lab.create_function("big", Handler="lambda_function.handler", Layers=layers,
                    Code={"ZipFile": make_zip({"lambda_function.py": SLOW_INIT, "model.bin": blob})})
cold(lab, "big", "big zip + 2 layers")
print(table(rows))
"""),
        md("""
The code fetch grew with the package's real size, and the layers added their own fetch and unzip. AWS limits
a function and its layers to 250 MB unzipped (`Unzipped size must be smaller than 262144000 bytes`), measured
by really unpacking them, and to 5 layers.

## 3. Container images: lazy, chunked, shared

A [container image](GLOSSARY.md#container-image) can be up to 10 GB. Lambda does not download it at a cold
start: it cuts the image into 512 KiB chunks, named by their content, and the microVM fetches only the chunks it
reads (about 6.5% at startup), from the **worker's cache**, else the [AZ cache](GLOSSARY.md#az-cache), else
**S3**. Two images on the same AWS base share the base's chunks. `lab.push_image` stands in for pushing to ECR.
"""),
        code("""
first = lab.push_image("orders", SLOW_INIT, base="python:3.12", size_mb=400)
second = lab.push_image("billing", SLOW_INIT.replace("ok", "billed"), base="python:3.12", size_mb=400)
for name, uri in (("orders", first), ("billing", second)):
    lab.create_function(name, PackageType="Image", Code={"ImageUri": uri})
cold(lab, "orders", "image, first on its base")
image_scene = cold(lab, "billing", "image, second on the same base")
ll.widgets.Stepper(image_scene)
"""),
        md("""
Step to the `fetch_image` step and the ones after it: each cache tier that served chunks lights up, with how
many chunks it gave and how long that took. (In production, AWS reports 67% of chunks from the worker, 32%
from the AZ cache and under 0.1% from S3.)

**Exercise 1.** Where did the *second* image's base-image chunks come from: the worker's cache, the AZ cache
or S3? (Look at the Stepper, or at `rows`.)
"""),
        Exercise("""
base_tier = {answer}   # "worker cache", "AZ cache" or "S3"
""", '"worker cache"'),
        check_cell("lab08.base_tier", "base_tier"),
        md("""
## 4. SnapStart: Init once, restore many times

With [SnapStart](GLOSSARY.md#snapstart) (`SnapStart={"ApplyOn": "PublishedVersions"}`), **publishing a
version** runs Init once, then Lambda takes a Firecracker snapshot of the initialised microVM. The version
stays `Pending` until the snapshot exists. Cold starts of that version *restore* the snapshot instead of running
Init. (`$LATEST` never uses SnapStart.)
"""),
        code("""
lab.create_function("snappy", SLOW_INIT, SnapStart={"ApplyOn": "PublishedVersions"})
version = lam.publish_version(FunctionName="snappy")
print(version["State"], version["SnapStart"])
lab.run()                                             # Init runs now, at publish time
print(lam.get_function_configuration(FunctionName="snappy", Qualifier="1")["State"])
cold(lab, "snappy", "SnapStart", Qualifier="1")
"""),
        code(f"""
{CHECK}
for line in lab.logs("snappy"):
    print(line.split("\\tRuntime Version ARN")[0][:150])
"""),
        md("""
INIT_START and INIT_REPORT appear once, at publish time. Each cold start logs `RESTORE_START` and
`RESTORE_REPORT`, and its REPORT line shows `Restore Duration` and `Billed Restore Duration` instead of
`Init Duration`. SnapStart supports Java 11+, Python 3.12+ and .NET 8+, not with provisioned concurrency, EFS,
or more than 512 MB of `/tmp`; Python and .NET pay for caching the snapshot and for each restore. Container
images may use it here when they are built on one of those runtimes' base images (AWS, which long refused
images, now also takes other bases whose runtime client runs the hooks).

## 5. VPC networking, then and now; provisioned concurrency

Before 2019 every new environment of a VPC function created and attached its own network interface, about
10 s per cold start. Since then Lambda creates shared [Hyperplane ENIs](GLOSSARY.md#hyperplane-eni) when the
function is created (it stays `Pending` meanwhile) and cold starts pay nothing for the VPC.
`Lab(vpc_eni="per-environment")` brings the old model back. Provisioned concurrency, for comparison, initialises
environments before any request arrives.
"""),
        code("""
network = {"SubnetIds": ["subnet-1a"], "SecurityGroupIds": ["sg-app"]}
for model, label in (("per-environment", "VPC before 2019"), ("hyperplane", "VPC with Hyperplane ENIs")):
    vpc_lab = ll.Lab(seed=8, vpc_eni=model)
    vpc_lab.create_function("private", SLOW_INIT, VpcConfig=network)
    cold(vpc_lab, "private", label)

pc_version = lam.publish_version(FunctionName="zip")["Version"]
lam.put_provisioned_concurrency_config(FunctionName="zip", Qualifier=pc_version, ProvisionedConcurrentExecutions=1)
lab.advance(30)                                       # the provisioned environment initialises now
cold(lab, "zip", "provisioned concurrency", Qualifier=pc_version)
"""),
        code(f"""
{CHECK}
print(table(rows))
"""),
        code("""
stacked_bar(rows)
plt.show()
"""),
        md("""
**Exercise 2.** By how many **milliseconds** does SnapStart shorten this function's cold start? Compare
`cold_start_p50` of the zip function and of the SnapStart version (both in `lab.stats(...)`).
"""),
        Exercise("""
snapstart_saving_ms = {answer}   # a number of milliseconds
""", '(lab.stats("zip")["cold_start_p50"] - lab.stats("snappy")["cold_start_p50"]) * 1000'),
        check_cell("lab08.snapstart_saving", "snapstart_saving_ms"),
        md("""
*(The zip function's stats include one warm start on the provisioned environment: `cold_start_p50` looks at
cold starts only.)*
"""),
        md("""
## 6. Memory is CPU: latency and cost

Lambda gives CPU in proportion to [memory](GLOSSARY.md#memory-size): one vCPU at 1,769 MB, at most 6.
`ll.CpuBound(seconds, threads)` models work that takes `seconds` on one vCPU. Move the sliders: **memory**
changes how fast the handler's 0.1 s of CPU work runs and the price of each millisecond; **package MB** changes
the code fetch of each cold start. Each move reruns 200 seeded requests.
"""),
        code("""
HANDLER = "import lambdalab as ll\\n\\ndef handler(event, context):\\n    ll.sleep(0.05)   # waiting on a database\\n"


def memory_and_package(fig, memory, package_mb):
    trial = ll.Lab(seed=8, trace="summary")
    code = make_zip({"lambda_function.py": HANDLER, "deps.bin": random.Random(1).randbytes(package_mb * 1_000_000)})
    trial.create_function("api", Handler="lambda_function.handler", Code={"ZipFile": code}, memory=memory,
                          timeout=30, duration=ll.CpuBound(0.1))
    trial.poisson("api", 5.0, count=200)
    trial.run()
    s = trial.stats("api")
    ax = fig.add_subplot()
    ax.barh(["handler (p50)", "cold start (p50)"], [s["duration_p50"] * 1000, s["cold_start_p50"] * 1000],
            color=["#009E73", "#B87800"])
    ax.set_xlim(0, 2000)
    ax.set_xlabel("milliseconds")
    return (f"{s['cold_starts']} cold starts; ${s['cost_usd'] / s['invocations'] * 1e6:,.2f} per million "
            "invocations")


ll.widgets.Explorer(memory_and_package, title="Memory and package size",
                    memory=(128, 3008, 64, 512), package_mb=(1, 45, 1, 5))
"""),
        md("""
`ll.power_tune` does what the open-source *AWS Lambda Power Tuning* tool does: for each memory size it
publishes a version, invokes it, drops the fastest and slowest 20% (the cold start) and prices the rest.
"""),
        code("""
tuning = ll.Lab(seed=8, trace="summary")
tuning.create_function("api", HANDLER, timeout=30, duration=ll.CpuBound(0.1))
result = ll.power_tune(tuning, "api", memory_sizes=(128, 256, 512, 1024, 1769, 3008), invocations=10)
memory = [r["memory"] for r in result["rows"]]
fig, left = plt.subplots(figsize=(8, 3))
left.plot(memory, [r["duration_p50"] * 1000 for r in result["rows"]], "o-", label="duration p50 (ms)")
left.set_xlabel("memory (MB)"); left.set_ylabel("ms")
right = left.twinx()
right.plot(memory, [r["cost_usd"] * 1e6 for r in result["rows"]], "s--", color="#D55E00", label="$ per 1M calls")
right.set_ylabel("$ per 1M invocations")
fig.legend(loc="upper center"); fig.tight_layout(); plt.show()
print("best for cost:", result["best"], "MB;  for speed:",
      ll.power_tune(tuning, "api", invocations=10, strategy="speed")["best"], "MB")
"""),
        md("""
Up to 1,769 MB more memory buys CPU, and the work finishes proportionally faster, so the price barely moves;
past one vCPU this single-threaded work gets no faster (`threads=1`) and you pay for memory you do not use.
`Architectures=["arm64"]` bills the same GB-seconds at the Arm price, 20% less.

## 7. The SnapStart uniqueness pitfall

A snapshot is a copy of memory. Everything Init made (a random seed, an id, a connection, a timestamp) is the
**same in every environment** restored from it. Here two environments start at once:
"""),
        code("""
PITFALL = '''
import random, uuid

CLIENT_ID = str(uuid.uuid4())          # made once, at Init


def handler(event, context):
    return {"client_id": CLIENT_ID, "lucky": random.randint(1, 1000)}
'''
pit = ll.Lab(seed=8)
pit.create_function("ids", PITFALL, SnapStart={"ApplyOn": "PublishedVersions"})
pit.client("lambda").publish_version(FunctionName="ids")
pit.run()
both = [pit.submit(FunctionName="ids", Qualifier="1") for _ in range(2)]
pit.run()
for inv in both:
    print(inv.env_id, inv.response["Payload"].read().decode())
"""),
        md("""
Two environments, one "unique" id, and the same "random" number: the random generator's state was in the
snapshot too. The fix is a runtime hook from `snapshot_restore_py`, which runs in each environment right
after its restore: reseed there, make new ids there, reconnect there.

**Exercise 3.** Which function of `snapshot_restore_py` registers such a hook? Add it to `PITFALL` (it should
call `random.seed()` and make a new `CLIENT_ID`), publish a new version and check that the two environments
now differ.
"""),
        Exercise("""
restore_hook = {answer}   # the name of the function, as text
""", '"register_after_restore"'),
        check_cell("lab08.restore_hook", "restore_hook"),
        what_aws_does_differently([
            "Cold-start times here come from a cost model with published figures (Firecracker's 125 ms boot, "
            "the ATC'23 cache tiers, 150 ms for the Python runtime); real ones vary with region, load and code.",
            "A container image's chunks are fetched on demand while the code runs, in parallel, from erasure-"
            "coded AZ caches; here the chunks Init needs are read first, one tier after the other.",
            "A SnapStart restore really resumes a memory image. lambdalab rebuilds Init's state by running the "
            "module code again with the snapshot's random stream and clock, so module code that calls other "
            "services at import time would call them again at each restore. Container images may use SnapStart "
            "(AWS allows it since July 2026 on AWS base images), as here.",
            "AWS does not publish how long Hyperplane ENI creation or an image's optimization takes; lambdalab "
            "uses 20 s and 5 s plus 200 MB/s. Functions and snapshots go Inactive after about 14 idle days.",
            "`ll.power_tune` runs invocations one after the other; the real tool (a Step Functions state "
            "machine) can run them in parallel and visualises the result in a web page.",
        ]),
        md(f"""
**Done.** You have taken a cold start apart and tried every lever on it: what you ship, how it is packaged,
SnapStart, the network, provisioned concurrency and memory. {nav(INDEX)}
"""),
    ]


def main(argv=None) -> int:
    return build_labs(((STEM, lab08),), argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
