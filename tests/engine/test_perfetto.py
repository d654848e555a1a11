"""lab.trace.to_perfetto(path): Chrome trace-event JSON that ui.perfetto.dev opens."""
from __future__ import annotations

import json
from collections import defaultdict

import lambdalab as ll
from lambdalab.engine.perfetto import COMPONENTS_PID, ENVIRONMENTS_PID

CODE = "import time\ntime.sleep(0.05)\n\ndef handler(event, context):\n    time.sleep(0.02)\n    return 1\n"


def _run():
    lab = ll.Lab(seed=0)
    lab.create_function("hello", CODE)
    for _ in range(3):                                       # 3 requests at once: 3 environments
        lab.submit(FunctionName="hello")
    lab.advance(1)
    lab.client("lambda").invoke(FunctionName="hello")        # a warm one
    lab.advance(700)                                         # reclaimed: shutdown slices
    return lab


def _load(lab, tmp_path):
    path = lab.trace.to_perfetto(tmp_path / "trace.json")
    return json.loads(path.read_text())


def test_every_event_has_the_fields_perfetto_needs(tmp_path):
    doc = _load(_run(), tmp_path)
    assert isinstance(doc["traceEvents"], list) and doc["displayTimeUnit"] == "ms"
    for event in doc["traceEvents"]:
        assert event["ph"] in ("M", "X", "i"), event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int), event
        assert isinstance(event["name"], str) and event["name"], event
        if event["ph"] != "M":
            assert isinstance(event["ts"], (int, float)) and event["ts"] >= 0, event
        if event["ph"] == "X":
            assert isinstance(event["dur"], (int, float)) and event["dur"] >= 0, event
        if event["ph"] == "i":
            assert event["s"] == "t"


def test_metadata_names_one_track_per_component_and_per_environment(tmp_path):
    lab = _run()
    doc = _load(lab, tmp_path)
    meta = [e for e in doc["traceEvents"] if e["ph"] == "M"]
    processes = {e["pid"]: e["args"]["name"] for e in meta if e["name"] == "process_name"}
    assert processes == {COMPONENTS_PID: "Lambda components", ENVIRONMENTS_PID: "Execution environments"}
    threads = {(e["pid"], e["tid"]): e["args"]["name"] for e in meta if e["name"] == "thread_name"}
    components = {name for (pid, _), name in threads.items() if pid == COMPONENTS_PID}
    assert components == {s.component for s in lab.trace}
    envs = sorted(name.split(" ")[0] for (pid, _), name in threads.items() if pid == ENVIRONMENTS_PID)
    assert envs == sorted({s.env_id for s in lab.trace if s.env_id}) and len(envs) == 3
    assert len(set(threads)) == len(threads)        # one tid per track
    # every event lands on a named track
    for e in doc["traceEvents"]:
        if e["ph"] != "M":
            assert (e["pid"], e["tid"]) in threads, e


def test_invocations_are_slices_in_virtual_microseconds(tmp_path):
    lab = _run()
    doc = _load(lab, tmp_path)
    slices = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["pid"] == ENVIRONMENTS_PID]
    invokes = [e for e in slices if e["name"].startswith("Invoke ")]
    assert len(invokes) == 4 == lab.stats("hello")["invocations"]
    for e in invokes:
        assert e["args"]["request_id"].startswith(e["name"].split()[1])
        assert abs(e["dur"] - 20_000) < 1            # the handler's 20 ms sleep, in virtual µs
    handlers = [e for e in slices if e["name"] == "handler"]
    assert len(handlers) == 4 and all(abs(e["dur"] - 20_000) < 1 for e in handlers)
    boots = [e for e in slices if e["name"] == "microvm"]
    assert len(boots) == 3 and all(abs(e["dur"] - 125_000) < 1 for e in boots)
    first = lab.trace.filter(action="invoke", component="environment")[0]
    assert min(e["ts"] for e in invokes) == round(first.t * 1e6, 3)
    # per track, slices nest or follow each other (Perfetto drops improperly nested slices)
    by_track = defaultdict(list)
    for e in doc["traceEvents"]:
        if e["ph"] == "X":
            by_track[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"]))
    for spans in by_track.values():
        stack = []
        for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
            while stack and stack[-1] <= start:
                stack.pop()
            assert not stack or end <= stack[-1] + 1e-6, spans
            stack.append(end)
    states = [e["name"] for e in slices if e["tid"] == 1 and e["name"] in ("Init", "frozen", "Shutdown")]
    assert states[0] == "Init" and "frozen" in states and states[-1] == "Shutdown"


def test_a_scene_exports_only_its_steps(tmp_path):
    lab = ll.Lab(seed=0)
    lab.create_function("hello", CODE)
    lam = lab.client("lambda")
    lam.invoke(FunctionName="hello")
    with lab.scene("warm") as scene:
        lam.invoke(FunctionName="hello")
    doc = json.loads(scene.to_perfetto(tmp_path / "warm.json").read_text())
    seqs = {e["args"]["seq"] for e in doc["traceEvents"] if e["ph"] != "M"}
    assert seqs == {s.seq for s in scene.steps}
    assert [e["name"] for e in doc["traceEvents"] if e["ph"] == "X" and e["name"].startswith("Invoke")]
