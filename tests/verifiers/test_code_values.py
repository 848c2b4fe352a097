"""The plain-value codec between the judge and the sandbox: exact round trips, and refusal of anything else."""

from __future__ import annotations

import math

import pytest

from verifiers.code import values

ROUND_TRIP = [None, True, False, 0, -7, 2**80, 1.5, -0.0, "", "héllo\n\udcff", b"\x00\xff", [], [1, [2, [3]]],
              (), (1, "a"), {1: "x", (1, 2): [3]}, {"d": 1}, {"t": [1]}, set(), {1, 2, (3,)}, [math.inf, -math.inf],
              [(1, 2), [(3,)]], {"nested": {"k": [{"t": None}]}}]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=repr)
def test_round_trip_keeps_value_and_types(value):
    back = values.from_json(values.to_json(value))
    assert back == value and type(back) is type(value)
    if isinstance(value, (list, tuple)):
        assert [type(x) for x in back] == [type(x) for x in value]


def test_nan_survives():
    assert math.isnan(values.from_json(values.to_json(math.nan)))


class Int(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class Str(str):
    pass


NOT_PLAIN = [Int(3), Str("a"), [Int(1)], {"k": Str("v")}, (x for x in ()), lambda: 1, object(), frozenset(), range(3),
             bytearray(b"x"), 1j, type]


@pytest.mark.parametrize("value", NOT_PLAIN, ids=lambda v: type(v).__name__)
def test_anything_else_is_refused(value):
    with pytest.raises(values.NotPlain, match="not plain data"):
        values.to_json(value)


def test_deep_nesting_is_refused_both_ways():
    deep: list = []
    for _ in range(values.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(values.NotPlain, match="deeper"):
        values.to_json(deep)
    with pytest.raises(values.NotPlain):
        values.from_json("[" * 100_000 + "]" * 100_000)


MALFORMED = ['{"x": 1}', '{"t": 1}', '{"d": [[1]]}', '{"d": [1, 2]}', '{"s": [[1]]}', '{"d": [[[1], 2]]}', '{"b": "zz"}',
             '{"f": "big"}', '{"t": [], "s": []}', "not json", '"\\ud800', "1" * 5000]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_encodings_are_refused(text):
    with pytest.raises(values.NotPlain):
        values.from_json(text)
