"""Cold starts of image functions (lazy 512 KiB chunks through worker / AZ / S3, deduplicated across images)
and of functions with layers (/opt in order, importable, readable, read-only; fetch + unzip time)."""
import math
import os

import pytest

import lambdalab as ll
from lambdalab.ecr import CHUNK_BYTES
from lambdalab.engine.vocabulary import ACTIONS
from lambdalab.lab import make_zip

HANDLER = "def handler(event, context):\n    return 'ok'\n"


def fetches(lab, function):
    return [s for s in lab.trace.filter(function=function) if s.action == "fetch_image"]


def test_first_cold_start_reads_the_base_from_the_az_cache_and_its_own_layer_from_s3():
    lab = ll.Lab(seed=0)
    uri = lab.push_image("api", HANDLER, size_mb=200)
    lab.create_function("api", PackageType="Image", Code={"ImageUri": uri})
    lab.client("lambda").invoke(FunctionName="api")
    (step,) = fetches(lab, "api")
    image = lab.ecr.resolve(uri)[0]
    expected = sum(max(1, math.ceil(layer.chunks * 0.065)) for layer in image.layers)
    assert sum(step.detail["chunks"].values()) == expected
    own = image.layers[-1]
    assert step.detail["chunks"] == {"local": 0, "az": expected - math.ceil(own.chunks * 0.065),
                                     "s3": math.ceil(own.chunks * 0.065)}
    cost = lab.cost
    seconds = sum(cost.code_fetch(t, n * CHUNK_BYTES) for t, n in step.detail["chunks"].items() if n)
    assert step.detail["duration"] == pytest.approx(seconds)
    assert step.detail["phase"] == "code"
    # one Step per tier that served chunks, each naming the hop it takes
    tiers = [s for s in lab.trace if s.component in ("worker", "az_cache", "code_store") and
             s.action in ("cache", "serve")]
    assert [(s.component, s.detail["target"]) for s in tiers] == [("az_cache", "worker"), ("code_store", "az_cache")]
    for s in lab.trace:
        assert s.action in ACTIONS[s.component]


def test_a_second_image_on_the_same_base_finds_the_base_on_the_worker():
    lab = ll.Lab(seed=0)
    one = lab.push_image("one", HANDLER, size_mb=100)
    two = lab.push_image("two", "def handler(e, c):\n    return 2\n", size_mb=100)
    for name, uri in (("one", one), ("two", two)):
        lab.create_function(name, PackageType="Image", Code={"ImageUri": uri})
        lab.client("lambda").invoke(FunctionName=name)
    first, second = fetches(lab, "one")[0], fetches(lab, "two")[0]
    assert first.worker_id == second.worker_id
    base = first.detail["chunks"]["az"]
    assert second.detail["chunks"]["local"] == base and second.detail["chunks"]["az"] == 0
    assert second.detail["duration"] < first.detail["duration"]
    # the same image again on a fresh environment: every chunk is on the worker now
    lab.fleet.retire_snapshot(lab.control_plane.functions["two"].latest)
    lab.run()
    lab.client("lambda").invoke(FunctionName="two")
    third = fetches(lab, "two")[-1]
    assert third.detail["chunks"]["local"] == sum(third.detail["chunks"].values())


def test_pushing_the_same_content_again_adds_no_unique_chunk():
    lab = ll.Lab(seed=0)
    a = lab.ecr.resolve(lab.push_image("api", HANDLER, size_mb=50))[0]
    b = lab.ecr.resolve(lab.push_image("api", HANDLER, size_mb=50, tag="again"))[0]
    assert a.digest == b.digest and [layer.key for layer in a.layers] == [layer.key for layer in b.layers]


def test_a_bigger_image_reads_more_chunks_and_takes_longer():
    times = {}
    for size in (50, 2000):
        lab = ll.Lab(seed=0)
        uri = lab.push_image("api", HANDLER, size_mb=size)
        lab.create_function("api", PackageType="Image", Code={"ImageUri": uri})
        lab.client("lambda").invoke(FunctionName="api")
        times[size] = fetches(lab, "api")[0].detail["duration"]
    assert times[2000] > times[50] * 3


def layer(lam, name, files):
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(files)})["LayerVersionArn"]


LAYER_CODE = '''
import os
import shared, only_a, sitepkg

def handler(event, context):
    with open("/opt/data/config.txt") as f:
        text = f.read()
    try:
        open("/opt/data/new.txt", "w")
        write = "allowed"
    except OSError as exc:
        write = f"{exc.errno} {exc.strerror}"
    return {"shared": shared.WHO, "file": shared.__file__, "a": only_a.A, "site": sitepkg.S, "text": text,
            "opt": sorted(os.listdir("/opt")), "exists": os.path.exists("/opt/python/only_a.py"), "write": write,
            "local": __import__("local").L}
'''


def test_layers_unpack_under_opt_in_order_importable_readable_and_read_only():
    lab = ll.Lab(seed=0)
    lam = lab.client("lambda")
    a = layer(lam, "a", {"python/shared.py": "WHO = 'a'\n", "python/only_a.py": "A = 1\n",
                         "data/config.txt": "from a\n", "python/local.py": "L = 'layer'\n"})
    b = layer(lam, "b", {"python/shared.py": "WHO = 'b'\n", "data/config.txt": "from b\n",
                         "python/lib/python3.12/site-packages/sitepkg.py": "S = 'site'\n"})
    code = make_zip({"lambda_function.py": LAYER_CODE, "local.py": "L = 'task'\n"})
    lab.create_function("f", Handler="lambda_function.handler", Code={"ZipFile": code}, Layers=[a, b])
    out = lam.invoke(FunctionName="f")["Payload"].read().decode()
    import json
    got = json.loads(out)
    assert got == {"shared": "b", "file": "/opt/python/shared.py", "a": 1, "site": "site", "text": "from b\n",
                   "opt": ["data", "python"], "exists": True, "write": "30 Read-only file system",
                   "local": "task"}          # /var/task comes before the layers on the import path
    lab.close()


def test_layer_phase_time_grows_with_the_real_unzipped_size_and_the_dir_goes_at_close():
    durations = {}
    for size in (1_000, 40_000_000):
        lab = ll.Lab(seed=0)
        lam = lab.client("lambda")
        arn = layer(lam, "data", {"blob.bin": b"\0" * size})
        lab.create_function("f", HANDLER, Layers=[arn])
        lam.invoke(FunctionName="f")
        (step,) = lab.trace.filter(action="extract_layers")
        durations[size] = step.detail["duration"]
        assert step.detail["phase"] == "code" and step.detail["layers"][0]["unzipped"] == size
        opt = next(iter(lab.layers.extracted.values()))
        assert os.path.getsize(os.path.join(opt, "blob.bin")) == size
        lab.close()
        assert not os.path.exists(opt)
    cost = ll.Lab().cost
    assert durations[40_000_000] - durations[1_000] == pytest.approx(
        (40_000_000 - 1_000) / cost.layer_extract_rate + (40_000_000 - 1_000) / cost.code_s3[1], rel=0.01)


def test_a_layer_shared_by_two_functions_is_unpacked_once_and_cached_on_the_worker():
    lab = ll.Lab(seed=0)
    lam = lab.client("lambda")
    arn = layer(lam, "deps", {"python/deps.py": "D = 1\n"})
    for name in ("f", "g"):
        lab.create_function(name, HANDLER, Layers=[arn])
        lam.invoke(FunctionName=name)
    tiers = [s.detail["layers"][0]["tier"] for s in lab.trace.filter(action="extract_layers")]
    assert tiers == ["s3", "local"] and len(lab.layers.extracted) == 1
    lab.close()


def test_a_zip_package_download_grows_with_its_real_size():
    """The code fetch of a .zip cold start moves the package's real bytes (CodeSize) at the tier's rate."""
    seconds = {}
    for size in (1_000, 20_000_000):
        lab = ll.Lab(seed=0)
        code = make_zip({"lambda_function.py": HANDLER, "data.bin": os.urandom(size)})   # does not compress
        lab.create_function("f", Handler="lambda_function.handler", Code={"ZipFile": code})
        assert lab.client("lambda").invoke(FunctionName="f")["Payload"].read() == b'"ok"'
        (step,) = lab.trace.filter(action="fetch_code")
        assert step.detail["bytes"] == len(code) and step.detail["tier"] == "s3"
        seconds[size] = step.detail["duration"]
        lab.close()
    assert seconds[20_000_000] - seconds[1_000] == pytest.approx(19_999_000 / ll.Lab().cost.code_s3[1], rel=0.01)
