"""Broken flags, risk with intervals, breaking points and audit verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from augaudit import risk


def test_broken_is_a_drop_of_at_least_break_drop():
    clean = np.array([1.0, 1.0, 0.8, 0.2, 0.0])
    test = np.array([0.5, 0.6, 0.3, 0.0, 0.0])
    assert risk.broken(test, clean, 0.5).tolist() == [True, False, True, False, False]


def _table(flags_by_image: dict[str, list[bool]]) -> pd.DataFrame:
    rows = [(img, f"t/{i}", b) for img, flags in flags_by_image.items() for i, b in enumerate(flags)]
    return pd.DataFrame(rows, columns=["image_id", "test", "broken"])


def test_group_risk_is_percent_of_pairs_with_a_seeded_interval():
    table = _table({f"im{i}": [i % 2 == 0, i % 4 == 0] for i in range(40)})
    r1 = risk.group_risk(table, 500, 0.95, seed=1)
    assert r1["risk"] == pytest.approx(100 * (20 + 10) / 80) and r1["n_images"] == 40
    assert r1["risk_low"] < r1["risk"] < r1["risk_high"]
    assert r1 == risk.group_risk(table, 500, 0.95, seed=1)


def test_paired_difference_and_verdicts():
    base = _table({f"im{i}": [True, True] for i in range(30)})
    better = _table({f"im{i}": [i < 3, False] for i in range(30)})
    d = risk.paired_difference(better, base, 500, 0.95, seed=0)
    assert d["difference"] == pytest.approx(-95.0) and d["high"] < 0
    assert risk.verdict(d["low"], d["high"]) == "helped"
    assert risk.verdict(2.0, 10.0) == "backfired"
    assert risk.verdict(-2.0, 10.0) == "no effect"


def test_breaking_point_interpolates_between_severities():
    assert risk.breaking_point([1, 2, 3], [10, 30, 60], 20) == pytest.approx(1.5)
    assert risk.breaking_point([1, 2, 3], [10, 30, 60], 50) == pytest.approx(2 + 20 / 30)
    assert risk.breaking_point([1, 3, 5], [40, 50, 90], 20) == pytest.approx(0.5)
    assert risk.breaking_point([1, 2], [5, 10], 20) is None
