"""Same seed, same calls: same trace, logs and stats. A different seed: a different run."""
import json

import lambdalab as ll

SRC = '''
import random
import lambdalab as ll

def handler(event, context):
    ll.sleep(event.get("work", 0.01))
    print("working on", event)
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"ok": True}
'''


def scenario(seed):
    lab = ll.Lab(seed=seed)
    lab.create_function("w", SRC, duration=ll.Exponential(0.2), timeout=2)
    lab.create_function("s", None, duration=ll.LogNormal(0.05, 0.5))
    lam = lab.client("lambda")
    lam.invoke(FunctionName="w", Payload=b'{"work": 0.5}')
    lam.invoke(FunctionName="w", Payload=b'{"fail": true}')
    lab.poisson("s", 5.0, count=200)
    lab.poisson("w", 1.0, duration=60)
    for i in range(20):
        lab.submit(at=lab.now + i * 0.1, FunctionName="w", Payload=json.dumps({"work": 0.3}).encode())
    lab.run()
    return lab


def fingerprint(lab):
    return (lab.trace.to_json(), json.dumps(lab.log_events()), json.dumps(lab.stats(), sort_keys=True))


def test_same_seed_same_everything():
    a, b = scenario(11), scenario(11)
    assert fingerprint(a) == fingerprint(b)
    assert len(a.trace) > 1000


def test_different_seed_different_run():
    assert fingerprint(scenario(11))[2] != fingerprint(scenario(12))[2]


def test_summary_mode_keeps_records_and_counters_but_no_steps():
    lab = ll.Lab(seed=4, trace="summary")
    lab.create_function("s", None, duration=0.1)
    lab.poisson("s", 2.0, count=50)
    lab.run()
    records = lab.invocations("s")
    assert len(lab.trace) == 0 and len(records) == 50 == lab.stats("s")["invocations"]
    assert sum(r["cold"] for r in records) == lab.stats("s")["cold_starts"]
    assert all(r["t_end"] - r["t_start"] >= 0.1 - 1e-9 for r in records)
    off = ll.Lab(seed=4, trace="off")
    off.create_function("s", None, duration=0.1)
    off.poisson("s", 2.0, count=50)
    off.run()
    assert off.stats("s") == lab.stats("s")
    import pytest
    with pytest.raises(ValueError):
        off.invocations()


def test_handler_randomness_is_seeded_by_the_lab():
    src = ("import random, uuid\n"
           "from random import choice\n"
           "def handler(event, context):\n"
           "    return [random.random(), choice('abcdef'), str(uuid.uuid4())]\n")

    def run(seed):
        lab = ll.Lab(seed=seed)
        lab.create_function("r", src)
        lam = lab.client("lambda")
        return [lam.invoke(FunctionName="r")["Payload"].read() for _ in range(3)]

    first = run(1)
    assert first == run(1) and first != run(2)
    assert len(set(first)) == 3          # a stream, not one value again and again


def test_client_context_reaches_the_handler_as_an_object():
    import base64
    lab = ll.Lab(seed=0)
    lab.create_function("c", "def handler(event, context):\n    return context.client_context.custom\n")
    raw = base64.b64encode(json.dumps({"custom": {"team": "blue"}, "env": {}, "client": {}}).encode()).decode()
    out = lab.client("lambda").invoke(FunctionName="c", ClientContext=raw)
    assert json.loads(out["Payload"].read()) == {"team": "blue"}
