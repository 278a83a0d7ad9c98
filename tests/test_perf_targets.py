"""``benchmarks/perf_targets.py``'s timing in turns: medians per contender, ratios per round."""

import os
import sys
import types

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
perf_targets = pytest.importorskip("perf_targets")


def test_in_turns_takes_each_ratio_within_a_round(monkeypatch):
    clock = iter(range(1000))
    # a fake clock (for perf_targets only): each reading advances it by 1 s, so each call lasts 1 s...
    fake = types.SimpleNamespace(sleep=lambda s: None, perf_counter=lambda: float(next(clock)))
    monkeypatch.setattr(perf_targets, "time", fake)
    t = perf_targets.in_turns({"a": lambda: None, "b": lambda: None}, 3)
    assert t == {"a": 1.0, "b": 1.0} and t.ratio("a", "b") == 1.0
    # ... and rounds whose times differ: a slow round counts once, for both
    t = perf_targets.Turns({"a": [1.0, 2.0, 10.0], "b": [2.0, 4.0, 20.0]})
    assert t["a"] == 2.0 and t["b"] == 4.0
    assert t.ratio("a", "b") == 0.5 and t.ratio("b", "a") == 2.0
    # a slow phase that hit a in round 3: per round 2/3, 2/3, 5, median 2/3 (a is 1.5× faster in
    # the clean rounds), where the ratio of the medians (2 / 2) would call them equal
    t = perf_targets.Turns({"a": [1.0, 2.0, 10.0], "b": [1.5, 3.0, 2.0]})
    assert t["a"] / t["b"] == 1.0
    assert t.ratio("a", "b") == pytest.approx(2 / 3) and t.ratio("b", "a") == pytest.approx(1.5)
