"""``Verdict``: a frozen plain value, validated when built from outside, rebuilt unvalidated from our own wire format."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

from verifiers.base import Verdict, from_columns, to_columns


@pytest.mark.parametrize(
    "fields",
    [
        ("maybe", 1.0, "r"),  # unknown status
        ("error", 0.0, "r"),  # a masked verdict with a score
        ("timeout", 1.0, "r"),
        ("correct", None, "r"),  # a scored verdict without one
        ("incorrect", None, "r"),
        ("correct", float("nan"), "r"),
        ("correct", float("inf"), "r"),
        ("correct", True, "r"),  # a bool is not a score
        ("correct", "1.0", "r"),
        ("correct", 1.0, 3),  # reason not a string
        ("correct", 1.0, "r", -1.0),  # negative seconds
        ("correct", 1.0, "r", None),
    ],
    ids=repr,
)
def test_the_constructor_refuses_what_is_not_a_verdict(fields):
    with pytest.raises(ValueError, match="verdict"):
        Verdict(*fields)


def test_the_constructor_keeps_valid_fields_and_makes_numbers_floats():
    v = Verdict("incorrect", 0, "wrong", 2)
    assert (v.status, v.score, v.reason, v.seconds) == ("incorrect", 0.0, "wrong", 2.0)
    assert type(v.score) is float and type(v.seconds) is float and not v.masked
    assert Verdict("timeout", None, "slow").masked and Verdict.error("down").masked


def test_verdicts_are_frozen_values_with_slots():
    v = Verdict.correct("ok")
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.score = 0.0  # type: ignore[misc]
    assert not hasattr(v, "__dict__")
    assert v == Verdict("correct", 1.0, "ok") and hash(v) == hash(Verdict("correct", 1.0, "ok"))
    assert v != Verdict.incorrect("ok") and v.timed(0.5) == Verdict("correct", 1.0, "ok", 0.5) and v.seconds == 0.0


def test_json_and_dict_forms_round_trip():
    v = Verdict.incorrect("caf\u00e9 \u2028", score=0.1).timed(0.25)
    assert v.model_dump() == {"status": "incorrect", "score": 0.1, "reason": "caf\u00e9 \u2028", "seconds": 0.25}
    assert Verdict.model_validate(json.loads(v.model_dump_json())) == v
    with pytest.raises(ValueError, match="unknown verdict fields"):
        Verdict.model_validate({**v.model_dump(), "extra": 1})
    with pytest.raises(ValueError):
        Verdict.model_validate({**v.model_dump(), "score": None})


def test_pickles_are_validated_when_loaded():
    v = Verdict.timeout("limit").timed(3.0)
    assert pickle.loads(pickle.dumps(v)) == v
    forged = pickle.dumps(v).replace(b"timeout", b"correct")  # a scored status with no score
    with pytest.raises(ValueError, match="score"):
        pickle.loads(forged)


def test_the_wire_format_round_trips_every_status():
    verdicts = [Verdict.correct("c", 0.5), Verdict.incorrect("i"), Verdict.error("e"), Verdict.timeout("t").timed(1.0)]
    columns = to_columns(verdicts)
    assert columns == (["correct", "incorrect", "error", "timeout"], [0.5, 0.0, None, None], ["c", "i", "e", "t"], [0.0, 0.0, 0.0, 1.0])
    assert from_columns(pickle.loads(pickle.dumps(columns))) == verdicts
