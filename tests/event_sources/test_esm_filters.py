"""FilterCriteria: the EventBridge pattern subset Lambda's event filtering supports."""
from __future__ import annotations

import json

import pytest

import lambdalab as ll
from lambdalab.event_sources.filters import FilterSet, matches

RECORD = {"body": {"kind": "order", "total": 42, "tags": ["eu", "priority"], "customer": {"tier": "gold"},
                   "note": None, "flag": True},
          "attributes": {"ApproximateReceiveCount": "1"}}


@pytest.mark.parametrize("pattern, expected", [
    ({"body": {"kind": ["order"]}}, True),
    ({"body": {"kind": ["refund", "return"]}}, False),
    ({"body": {"kind": [{"prefix": "ord"}]}}, True),
    ({"body": {"kind": [{"suffix": "der"}]}}, True),
    ({"body": {"kind": [{"equals-ignore-case": "ORDER"}]}}, True),
    ({"body": {"total": [{"numeric": [">", 40, "<=", 42]}]}}, True),
    ({"body": {"total": [{"numeric": ["<", 40]}]}}, False),
    ({"body": {"total": [42]}}, True),
    ({"body": {"total": ["42"]}}, False),                    # a string never equals a number
    ({"body": {"missing": [{"exists": False}]}}, True),
    ({"body": {"kind": [{"exists": False}]}}, False),
    ({"body": {"kind": [{"exists": True}]}}, True),
    ({"body": {"kind": [{"anything-but": ["refund"]}]}}, True),
    ({"body": {"kind": [{"anything-but": "order"}]}}, False),
    ({"body": {"kind": [{"anything-but": {"prefix": "or"}}]}}, False),
    ({"body": {"tags": ["priority"]}}, True),                # a list field matches when any element does
    ({"body": {"customer": {"tier": ["gold"]}}}, True),
    ({"body": {"customer": {"tier": ["silver"]}}}, False),
    ({"body": {"note": [None]}}, True),
    ({"body": {"flag": [True]}}, True),
    ({"body": {"flag": [1]}}, False),
    ({"body": {"kind": ["order"]}, "attributes": {"ApproximateReceiveCount": ["2"]}}, False),   # every key
])
def test_pattern_operators(pattern, expected):
    assert matches(pattern, RECORD) is expected


def test_any_filter_may_match_and_no_filters_keep_everything():
    either = FilterSet({"Filters": [{"Pattern": json.dumps({"body": {"kind": ["refund"]}})},
                                    {"Pattern": json.dumps({"body": {"total": [{"numeric": [">", 10]}]}})}]})
    assert either.keep(RECORD)
    assert FilterSet(None).keep({"body": "anything"})
    assert FilterSet({"Filters": []}).keep({"body": "anything"})


@pytest.mark.parametrize("pattern", ['{"body": {"kind": "order"}}', '{"body": {"kind": []}}', "[1, 2]", "{}",
                                     '{"body": {"n": [{"numeric": [">"]}]}}', '{"body": {"n": [{"wild": 1}]}}'])
def test_invalid_patterns_are_refused(pattern):
    with pytest.raises(ll.ClientError) as caught:
        FilterSet({"Filters": [{"Pattern": pattern}]})
    assert caught.value.response["Error"]["Message"] == "Invalid filter pattern definition."


def test_more_than_five_filters_is_refused():
    pattern = {"Pattern": '{"body": {"n": [1]}}'}
    with pytest.raises(ll.ClientError) as caught:
        FilterSet({"Filters": [pattern] * 6})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
