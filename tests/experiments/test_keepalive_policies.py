"""ll.keepalive: the policy objects on their own (their effect on a Lab is in test_replay.py)."""
from __future__ import annotations

import random
import statistics

import pytest

import lambdalab as ll
from lambdalab.keepalive import _History, windows


def test_fixed_keeps_every_idle_environment_for_its_seconds():
    assert ll.keepalive.Fixed(600).on_idle("f", 12.0) == (0.0, 600.0)
    with pytest.raises(ValueError):
        ll.keepalive.Fixed(-1)


def test_a_new_function_gets_the_fallback_no_prewarm_and_the_whole_range():
    policy = ll.keepalive.HybridHistogram()
    assert policy.pattern("new") == "none" and policy.on_idle("new", 0.0) == (0.0, 4 * 3600)


def test_a_regular_function_gets_windows_from_its_idle_time_percentiles():
    policy = ll.keepalive.HybridHistogram()
    for i in range(40):                          # idle 30-32 minutes between requests
        policy.on_invoke("cron", i * 2000.0, 1800.0 + 60 * (i % 3))
    assert policy.pattern("cron") == "histogram"
    prewarm, keep_alive = policy.on_idle("cron", 0.0)
    assert prewarm == pytest.approx(30 * 60 * 0.9)            # the 5th percentile's bin, minus 10%
    assert prewarm + keep_alive == pytest.approx(33 * 60 * 1.1)  # loaded until the 99th's bin ends, plus 10%


def test_too_little_history_and_no_pattern_fall_back():
    policy = ll.keepalive.HybridHistogram(min_idle_times=10)
    for i in range(9):
        policy.on_invoke("young", 0.0, 600.0)
    assert policy.pattern("young") == "none"
    policy.on_invoke("young", 0.0, 600.0)
    assert policy.pattern("young") == "histogram"
    rng = random.Random(1)
    for _ in range(2000):                        # idle times all over the 4 hours: no pattern to learn
        policy.on_invoke("noise", 0.0, rng.uniform(0, 4 * 3600 - 1))
    assert policy.pattern("noise") == "none" and policy.on_idle("noise", 0.0) == (0.0, 4 * 3600)


def test_mostly_longer_than_the_range_uses_the_last_one_as_the_forecast():
    policy = ll.keepalive.HybridHistogram()
    for hours in (5, 6, 7, 8, 6, 5, 9, 6, 7, 10):
        policy.on_invoke("daily", 0.0, hours * 3600.0)
    assert policy.pattern("daily") == "forecast"
    assert policy.on_idle("daily", 0.0) == pytest.approx((10 * 3600 * 0.85, 10 * 3600 * 0.30))


def test_busy_functions_learn_zero_idle_times():
    policy = ll.keepalive.HybridHistogram()
    for _ in range(100):
        policy.on_invoke("busy", 0.0, 0.0)
    assert policy.on_idle("busy", 0.0) == pytest.approx((0.0, 66.0))


def test_the_running_percentiles_and_spread_match_a_recount():
    rng = random.Random(7)
    for n_bins in (1, 7, 240):
        h, bins = _History(n_bins, 0.05, 0.99), [0] * n_bins
        for _ in range(400):
            b = min(n_bins - 1, int(rng.expovariate(3.0 / n_bins)))
            h.add(b)
            bins[b] += 1
            for p, tracked in ((0.05, h.head), (0.99, h.tail)):
                cum = 0
                for i, x in enumerate(bins):
                    cum += x
                    if cum >= p * sum(bins):
                        break
                assert tracked.index == i
            if n_bins > 1:
                assert h.cv() == pytest.approx(statistics.stdev(bins) / statistics.mean(bins))


class Learner(ll.keepalive.KeepAlivePolicy):
    def __init__(self, answer):
        self.answer = answer

    def on_idle(self, function, now):
        return self.answer


@pytest.mark.parametrize("answer,expected", [(300, (0.0, 300.0)), ((60, 120), (60.0, 120.0)),
                                             ((0, float("inf")), (0.0, float("inf")))])
def test_a_learners_answer_is_read_as_seconds(answer, expected):
    assert windows(Learner(answer), "f", 0.0) == expected


@pytest.mark.parametrize("answer,error", [("10 minutes", TypeError), ((1, 2, 3), TypeError), (None, TypeError),
                                          (-5, ValueError), ((float("inf"), 10), ValueError),
                                          ((float("nan"), 10), ValueError)])
def test_a_wrong_answer_says_what_on_idle_must_return(answer, error):
    with pytest.raises(error, match="on_idle"):
        windows(Learner(answer), "f", 0.0)


def test_the_base_class_asks_for_on_idle():
    with pytest.raises(NotImplementedError, match="on_idle"):
        ll.keepalive.KeepAlivePolicy().on_idle("f", 0.0)
