import pytest

import lambdalab as ll
from lambdalab.engine import Engine, Trace
from lambdalab.engine.vocabulary import ACTIONS


def test_events_run_in_time_order_and_ties_in_scheduling_order():
    engine, seen = Engine(0), []
    engine.at(2.0, seen.append, "b")
    engine.at(1.0, seen.append, "a")
    engine.at(2.0, seen.append, "c")
    engine.run()
    assert seen == ["a", "b", "c"]
    assert engine.now == 2.0


def test_cancelled_event_never_runs_and_peek_skips_it():
    engine, seen = Engine(0), []
    first = engine.at(1.0, seen.append, "cancelled")
    engine.at(3.0, seen.append, "kept")
    engine.cancel(first)
    assert engine.peek() == 3.0
    engine.run()
    assert seen == ["kept"]


def test_run_until_stops_the_clock_exactly_there():
    engine, seen = Engine(0), []
    engine.at(5.0, seen.append, "late")
    engine.run(until=2.5)
    assert seen == [] and engine.now == 2.5
    engine.run(until=10)
    assert seen == ["late"] and engine.now == 10


def test_run_stop_condition_and_past_times_clamp_to_now():
    engine, seen = Engine(0), []
    engine.run(until=4)
    engine.at(1.0, seen.append, "clamped")      # in the past: runs now, not back in time
    engine.at(6.0, seen.append, "after stop")
    engine.run(stop=lambda: bool(seen))
    assert seen == ["clamped"] and engine.now == 4


def test_distributions_are_seeded_and_validated():
    import random
    a, b = random.Random(7), random.Random(7)
    for dist in (ll.Fixed(0.5), ll.Exponential(2.0), ll.Uniform(1, 2), ll.LogNormal(0.1, 0.3)):
        assert dist(a) == dist(b)
    assert ll.Uniform(1, 2)(a) >= 1
    from lambdalab.engine import as_distribution
    with pytest.raises(ValueError):
        as_distribution(-1)
    with pytest.raises(TypeError):
        as_distribution("fast")


def test_trace_modes_record_only_in_full():
    full, off = Trace("full"), Trace("off")
    full.emit("client", "invoke", "x", request_id="r1")
    off.emit("client", "invoke", "x")
    assert len(full) == 1 and len(off) == 0 and full[0].request_id == "r1"
    with pytest.raises(ValueError):
        Trace("verbose")


def test_a_step_is_made_once_when_first_read_and_every_reader_sees_that_one():
    trace = Trace("full", clock=lambda: 2.5)
    heard = []
    for i in range(3):
        trace.emit("client", "invoke", "Invoke {} ({:.1f} ms)", f"f{i}", i / 3, request_id=f"r{i}", function=f"f{i}")
    first = trace[0]
    assert first is trace[0] is trace[-3] is list(trace)[0] is trace[0:2][0] is trace.filter(function="f0")[0]
    assert (first.seq, first.t, first.text, first.detail) == (0, 2.5, "Invoke f0 (0.0 ms)", {})
    trace[2].request_id = "later"                          # a component may attach a request id it learns later
    assert trace[2].request_id == "later" and trace.filter(request_id="later") == [trace[2]]
    assert [s.seq for s in trace[::-1]] == [2, 1, 0] and trace[-1].text == "Invoke f2 (0.7 ms)"
    with pytest.raises(IndexError):
        trace[3]
    trace.subscribe(heard.append)                          # a listener is given the Step itself, at once
    trace.emit("frontend", "receive", "b")
    assert heard == [trace[3]] and heard[0].seq == 3
    seen = []
    for step in trace:                                     # steps recorded while iterating are read too
        seen.append(step.seq)
        if step.seq == 0:
            trace.emit("frontend", "dispatch", "c")
    assert seen == [0, 1, 2, 3, 4]


def test_trace_filter_and_json():
    trace = Trace("full")
    trace.emit("client", "invoke", "a", request_id="r1")
    trace.emit("frontend", "receive", "b", request_id="r1", payload_bytes=3)
    trace.emit("client", "invoke", "c", request_id="r2")
    assert [s.text for s in trace.filter(request_id="r1")] == ["a", "b"]
    assert [s.text for s in trace.filter(component=("client",), request_id="r2")] == ["c"]
    assert '"payload_bytes": 3' in trace.to_json()
    with pytest.raises(TypeError):
        trace.filter(colour="red")


def test_every_step_of_a_real_run_uses_the_vocabulary():
    lab = ll.Lab(seed=3)
    lab.create_function("f", "def handler(event, context):\n    return 1\n")
    lam = lab.client("lambda")
    lam.invoke(FunctionName="f")
    with pytest.raises(ll.ClientError):
        lam.invoke(FunctionName="f", Payload=b"not json")  # rejected: still traced
    lab.advance(3600)                                    # idle reclamation and shutdown
    assert len(lab.trace) > 20
    for step in lab.trace:
        assert step.action in ACTIONS[step.component], (step.component, step.action)


def test_run_with_no_end_stops_before_upkeep_when_nothing_else_is_left():
    engine = Engine(seed=0)
    ran = []
    engine.upkeep(50.0, ran.append, "drain")
    engine.at(10.0, ran.append, "invoke")
    engine.run()
    assert ran == ["invoke"] and engine.now == 10.0       # the workload is over; the upkeep waits
    engine.at(60.0, ran.append, "later")
    engine.run()                                         # work after it: the upkeep runs on the way
    assert ran == ["invoke", "drain", "later"] and engine.now == 60.0
    engine.upkeep(100.0, ran.append, "recycle")
    engine.run(until=200.0)                              # an end time runs upkeep as it comes due
    assert ran[-1] == "recycle" and engine.now == 200.0


def test_cancel_reschedule_and_a_timer_that_ran():
    engine = Engine(seed=0)
    seen = []
    timer = engine.at(1.0, seen.append, "moved")
    engine.at(2.0, seen.append, "fixed")
    moved = engine.reschedule(timer, 3.0)
    assert moved[0] == 3.0 and engine.peek() == 2.0
    engine.run()
    assert seen == ["fixed", "moved"]
    engine.cancel(moved)                                  # it ran: cancelling it now does nothing
    engine.cancel(None)
    assert engine.now == 3.0


def test_a_deferred_timer_keeps_the_place_it_was_given_until_armed():
    engine = Engine(seed=0)
    seen = []
    early = engine.defer(5.0, seen.append, "deferred first")   # takes its place in the order now ...
    engine.at(5.0, seen.append, "scheduled second")
    engine.run(until=1.0)
    assert seen == [] and engine.peek() == 5.0
    engine.arm(early)                                          # ... and keeps it when armed later
    engine.run()
    assert seen == ["deferred first", "scheduled second"]


def test_a_dropped_timer_does_not_run_but_the_clock_still_reaches_its_time():
    engine = Engine(seed=0)
    seen = []
    engine.at(1.0, seen.append, "work")
    noop = engine.defer(10.0, seen.append, "no-op")
    armed = engine.at(20.0, seen.append, "cancelled")
    engine.drop(noop)
    engine.cancel(armed)
    engine.run()
    assert seen == ["work"] and engine.now == 10.0              # as if the no-op had run; not the cancelled


def test_nothing_outside_the_engine_touches_its_privates():
    import ast
    import pathlib
    root = pathlib.Path(ll.__file__).parent
    privates = {"_heap", "_seq", "_horizon", "_quiet", "_run"}
    found = []
    for path in root.rglob("*.py"):
        if path.parent.name == "engine":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in privates:
                owner = ast.unparse(node.value)
                if "engine" in owner:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {owner}.{node.attr}")
    assert not found, found


def test_timers_run_in_time_then_scheduling_order_near_and_far():
    """Timers far ahead wait off the heap; whatever their times (ties, a quarter second's edge, hours away,
    infinity) and however they were made (at, schedule from a callback, place with an old ticket), they run
    in the order of (time, place in the order), cancelled ones never."""
    import random
    rng = random.Random(7)
    engine = Engine(seed=0)
    expected, seen = [], []

    def times():
        return rng.choice([rng.uniform(0, 2000), round(rng.uniform(0, 5), 2), 0.25 * rng.randrange(40),
                           engine.now + rng.expovariate(1 / 30), 1e13, float("inf")])

    def make(time, key):
        timer = engine.at(time, seen.append, key)
        expected.append((max(time, engine.now), timer[1], key))
        if rng.random() < 0.1:
            engine.cancel(timer)
            expected.pop()

    def spawn(key):
        seen.append(key)
        for j in range(2):
            if len(expected) < 3000:
                make(times(), f"{key}.{j}")
        if rng.random() < 0.3:                   # a timer made now whose place was drawn earlier
            ticket = tickets.pop(0) if tickets else engine.ticket()
            time = engine.now + rng.choice([0.25, 0.5, 700.0])
            engine.place(time, ticket, seen.append, f"{key}.p")
            expected.append((time, ticket, f"{key}.p"))
        tickets.append(engine.ticket())

    tickets = []
    for i in range(200):
        time = times()
        engine.at(time, spawn, f"s{i}")
        expected.append((time, None, f"s{i}"))
    engine.run()
    assert len(seen) == len(expected)
    # (the spawners' own order is checked through the timers they made: sort all by what the engine promises)
    runs = [key for key in seen if key.startswith("s") and "." not in key]
    assert len(runs) == 200
    made = sorted((e for e in expected if e[1] is not None), key=lambda e: (e[0], e[1]))
    assert [key for key in seen if "." in key] == [e[2] for e in made if "." in e[2]]
