"""SnapStart: the control plane's rules with AWS's errors, Init once at PublishVersion (Pending until the
snapshot exists), restores with RESTORE_START / RESTORE_REPORT and REPORT's Restore Duration, runtime hooks,
the uniqueness pitfall, the bill, and the snapshot removed after 14 idle days."""
import json

import pytest

import lambdalab as ll
from lambdalab.engine.vocabulary import ACTIONS
from lambdalab.lab import make_zip

ROLE = "arn:aws:iam::123456789012:role/r"
ON = {"ApplyOn": "PublishedVersions"}

CODE = '''
import os, random, time, uuid
from snapshot_restore_py import register_before_snapshot, register_after_restore

SEED = random.random()
MADE = str(uuid.uuid4())
LOADED = time.time()
time.sleep(2.0)                      # a slow import: what SnapStart is for
print("module loaded")
FRESH = {}


@register_before_snapshot
def close_connections():
    print("before snapshot")


@register_after_restore
def reseed():
    time.sleep(0.05)
    FRESH["value"] = random.random()


def handler(event, context):
    return {"seed": SEED, "made": MADE, "loaded": LOADED, "fresh": FRESH.get("value"),
            "type": os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"]}
'''


def published(code=CODE, seed=0, **kw):
    lab = ll.Lab(seed=seed)
    lab.create_function("snappy", code, timeout=10, SnapStart=ON, **kw)
    lam = lab.client("lambda")
    version = lam.publish_version(FunctionName="snappy")
    return lab, lam, version


def payload(inv):
    return json.loads(inv.response["Payload"].read())


def test_publish_is_pending_until_the_snapshot_exists_and_logs_init_then():
    lab, lam, version = published()
    assert version["State"] == "Pending" and version["StateReasonCode"] == "Creating"
    assert version["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert lam.get_function_configuration(FunctionName="snappy")["SnapStart"]["OptimizationStatus"] == "Off"
    with pytest.raises(lam.exceptions.SnapStartNotReadyException) as info:
        lam.invoke(FunctionName="snappy", Qualifier="1")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    published_at = lab.now
    lab.run()
    assert lam.get_function_configuration(FunctionName="snappy", Qualifier="1")["State"] == "Active"
    lines = lab.logs("snappy")
    assert lines[0].startswith("INIT_START Runtime Version: python:3.12")
    assert lines[1:3] == ["module loaded", "before snapshot"]
    assert lines[3] == "INIT_REPORT Init Duration: 2150.00 ms\tPhase: init\tStatus: success"
    events = [e for e in lab.log_events("snappy") if e[2].startswith("INIT_REPORT")]
    assert events[0][0] == pytest.approx(published_at + 0.125 + lab.cost.code_fetch("s3", 0) + 2.15, abs=0.01)
    assert len([s for s in lab.trace if s.action == "snapshot"]) == 1
    env_vars = [s for s in lab.trace if s.action == "create" and s.component == "environment"]
    assert env_vars[0].detail["init_type"] == "snap-start"


def test_cold_starts_restore_with_aws_log_lines_and_billing():
    lab, lam, _ = published()
    lab.run()
    inv = lab.submit(FunctionName="snappy", Qualifier="1")
    lab.run()
    assert payload(inv)["type"] == "snap-start"
    lines = [e[2] for e in lab.log_events("snappy")][4:]
    assert lines[0].startswith("RESTORE_START Runtime Version: python:3.12.v42\tRuntime Version ARN: arn:aws:lambda")
    cost = lab.cost
    total = cost.snapstart_restore(128) + cost.snapstart_runtime + 0.05
    assert lines[1] == f"RESTORE_REPORT Restore Duration: {total * 1000:.2f} ms"
    assert lines[2].startswith("START RequestId:") and "Version: 1" in lines[2]
    report = lines[-1]
    assert f"\tRestore Duration: {total * 1000:.2f} ms\tBilled Restore Duration: 70 ms" in report
    assert "Init Duration" not in report and "\tBilled Duration: 71 ms" in report   # 1 ms of handler + 70
    assert inv.billed_ms == 71 and inv.cold
    restore = [s for s in lab.trace if s.action == "restore"][0]
    assert restore.detail["phase"] == "restore" and restore.detail["duration"] == pytest.approx(total)
    assert lab.stats("snappy")["cold_start_p50"] == pytest.approx(cost.microvm_boot + total)
    for step in lab.trace:
        assert step.action in ACTIONS[step.component]


def test_latest_never_uses_the_snapshot():
    lab, lam, _ = published()
    lab.run()
    lam.invoke(FunctionName="snappy")
    assert any(s.component == "function" and s.action == "init" and s.version == "$LATEST" for s in lab.trace)
    assert not any(s.action == "restore" and s.version == "$LATEST" for s in lab.trace)


def test_uniqueness_pitfall_every_restored_environment_holds_the_same_init_state():
    lab, lam, _ = published()
    lab.run()
    a, b = lab.submit(FunctionName="snappy", Qualifier="1"), lab.submit(FunctionName="snappy", Qualifier="1")
    lab.run()
    first, second = payload(a), payload(b)
    assert a.env_id != b.env_id
    assert (first["seed"], first["made"], first["loaded"]) == (second["seed"], second["made"], second["loaded"])
    # the random stream itself is restored too: drawing again in the hook gives the same number everywhere
    assert first["fresh"] == second["fresh"]


def test_reseeding_in_an_after_restore_hook_makes_values_unique_and_stays_deterministic():
    code = CODE.replace('    FRESH["value"] = random.random()', '    random.seed()\n    FRESH["value"] = random.random()')
    runs = []
    for _ in range(2):
        lab, lam, _ = published(code)
        lab.run()
        a, b = lab.submit(FunctionName="snappy", Qualifier="1"), lab.submit(FunctionName="snappy", Qualifier="1")
        lab.run()
        runs.append((payload(a)["fresh"], payload(b)["fresh"]))
    assert runs[0][0] != runs[0][1]
    assert runs[0] == runs[1]                  # same seed, same calls: the same values


@pytest.mark.parametrize("kw, message", [
    ({"Runtime": "python3.11"}, "python3.11 is not supported for SnapStart enabled functions."),
    ({"Runtime": "nodejs20.x"}, "nodejs20.x is not supported for SnapStart enabled functions."),
    ({"EphemeralStorage": {"Size": 1024}}, "Ephemeral storage greater than 512 MB is not supported for SnapStart"),
    ({"FileSystemConfigs": [{"Arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/"
                                    "fsap-0123456789abcdef0", "LocalMountPath": "/mnt/data"}]},
     "EFS is not supported for SnapStart enabled functions."),
])
def test_snapstart_refusals(kw, message):
    lab = ll.Lab()
    lam = lab.client("lambda")
    params = dict(FunctionName="f", Role=ROLE, Runtime="python3.12", Handler="app.handler",
                  Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 1\n"})}, SnapStart=ON)
    params.update(kw)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match=message.replace(".", r"\.")):
        lam.create_function(**params)
    assert lam.list_functions()["Functions"] == []


def test_snapstart_enum_and_updates_are_checked_too():
    lab = ll.Lab()
    lam = lab.client("lambda")
    with pytest.raises(ll.ClientError, match="snapStart.applyOn"):
        lab.create_function("f", "def handler(e, c):\n    return 1\n", SnapStart={"ApplyOn": "Always"})
    lab.create_function("g", "def handler(e, c):\n    return 1\n", runtime="python3.11")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="python3.11 is not supported"):
        lam.update_function_configuration(FunctionName="g", SnapStart=ON)
    lab.create_function("h", "def handler(e, c):\n    return 1\n", SnapStart=ON)
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="python3.11 is not supported"):
        lam.update_function_configuration(FunctionName="h", Runtime="python3.11")
    lam.update_function_configuration(FunctionName="g", Runtime="python3.13", SnapStart=ON)
    lam.get_waiter("function_updated_v2").wait(FunctionName="g")
    assert lam.get_function_configuration(FunctionName="g")["SnapStart"] == \
        {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}


def test_provisioned_concurrency_does_not_combine_with_snapstart():
    lab, lam, _ = published()
    lab.run()
    with pytest.raises(lam.exceptions.InvalidParameterValueException,
                       match="Provisioned concurrency is not supported for SnapStart enabled functions."):
        lam.put_provisioned_concurrency_config(FunctionName="snappy", Qualifier="1",
                                               ProvisionedConcurrentExecutions=1)


def test_an_image_on_a_python_base_may_use_snapstart():
    lab = ll.Lab()
    lam = lab.client("lambda")
    uri = lab.push_image("snap", "def handler(e, c):\n    return 'restored'\n")
    lam.create_function(FunctionName="img", Role=ROLE, PackageType="Image", Code={"ImageUri": uri}, SnapStart=ON)
    lam.get_waiter("function_active_v2").wait(FunctionName="img")
    lam.publish_version(FunctionName="img")
    lab.run()
    assert lam.invoke(FunctionName="img", Qualifier="1")["Payload"].read() == b'"restored"'
    assert any(s.action == "restore" for s in lab.trace)
    node = lab.push_image("node", None, base="nodejs:20")
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="nodejs20.x is not supported"):
        lam.create_function(FunctionName="n", Role=ROLE, PackageType="Image", Code={"ImageUri": node},
                            SnapStart=ON)


def test_an_init_failure_at_publish_fails_the_version():
    lab, lam, _ = published("raise RuntimeError('no config')\n\ndef handler(e, c):\n    return 1\n")
    lab.run()
    cfg = lam.get_function_configuration(FunctionName="snappy", Qualifier="1")
    assert cfg["State"] == "Failed" and cfg["StateReasonCode"] == "FunctionError"
    with pytest.raises(lam.exceptions.ResourceConflictException, match="Failed"):
        lam.invoke(FunctionName="snappy", Qualifier="1")


def test_a_failing_after_restore_hook_is_reported():
    code = CODE.replace('    FRESH["value"] = random.random()', '    raise ValueError("reconnect failed")')
    lab, lam, _ = published(code)
    lab.run()
    lam.invoke(FunctionName="snappy", Qualifier="1")
    report = [line for line in lab.logs("snappy") if line.startswith("RESTORE_REPORT")][0]
    assert report.endswith("\tStatus: error\tError Type: ValueError")


def test_python_pays_for_caching_and_restores():
    lab, lam, _ = published()
    lab.run()
    before = lab.stats("snappy")["cost_usd"]
    lab.advance(3600)
    cached = lab.stats("snappy")["cost_usd"] - before
    assert cached == pytest.approx(3600 * 128 / 1024 * lab.cost.price_snapstart_cache, rel=1e-6)
    lab.submit(FunctionName="snappy", Qualifier="1")
    lab.submit(FunctionName="snappy", Qualifier="1")
    lab.run(until=lab.now + 60)
    assert lab.snapstart.restored_gb["snappy"] == pytest.approx(2 * 128 / 1024)


def test_a_snapshot_not_used_for_14_days_is_removed_and_taken_again():
    lab, lam, _ = published()
    lab.run()
    lam.invoke(FunctionName="snappy", Qualifier="1")
    lab.advance(13 * 86400)
    assert lam.get_function_configuration(FunctionName="snappy", Qualifier="1")["State"] == "Active"
    lab.advance(2 * 86400)
    cfg = lam.get_function_configuration(FunctionName="snappy", Qualifier="1")
    assert cfg["State"] == "Inactive"
    with pytest.raises(lam.exceptions.SnapStartNotReadyException):
        lam.invoke(FunctionName="snappy", Qualifier="1")
    assert lam.get_function_configuration(FunctionName="snappy", Qualifier="1")["StateReasonCode"] == "Restoring"
    lab.advance(10)
    assert lam.invoke(FunctionName="snappy", Qualifier="1")["StatusCode"] == 200
