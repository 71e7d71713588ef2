"""Broken flags, risk with intervals, breaking points and the audit's rules, on constructed frames.

Each audit rule is checked on a frame built so that the rule decides the outcome: the same frame
under the rule's absence gives the wrong verdict (asserted too), so no test passes by construction.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import pytest

from augaudit import audit, risk

from conftest import default_params


def test_broken_is_a_drop_of_at_least_break_drop():
    clean = np.array([1.0, 1.0, 0.8, 0.2, 0.0])
    test = np.array([0.5, 0.6, 0.3, 0.0, 0.0])
    assert risk.broken(test, clean, 0.5).tolist() == [True, False, True, False, False]


def test_worked_example_of_docs_risk_md():
    # the image of the per-image example: F1 0.4 under the test, 1.0 clean -> a drop of 0.6, broken
    assert risk.broken(np.array([0.4]), np.array([1.0]), 0.5).tolist() == [True]
    # 30 of 100 test images broken under gaussian_blur severity 3: risk 30 (yellow zone)
    table = _table({f"im{i}": [[i < 30]] for i in range(100)})
    assert risk.group_risk(table, 0.95)["risk"] == pytest.approx(30.0)
    # risk 10 at severity 1 and 30 at severity 2: the yellow (20) breaking point is severity 1.5
    assert risk.breaking_point([0, 1, 2], [10, 30], 20) == pytest.approx(1.5)
    # on gaussian_blur's ladder (sigma 1 at severity 1, 2 at severity 2) that is sigma 1.5
    assert risk.breaking_point([0.0, 1.0, 2.0], [10, 30], 20) == pytest.approx(1.5)
    # on jpeg_compression's (quality 100 clean, 25 and 18): quality 21.5
    assert risk.breaking_point([100.0, 25.0, 18.0], [10, 30], 20) == pytest.approx(21.5)


def _table(flags: dict[str, list[list[bool]]]) -> pd.DataFrame:
    """image -> per replicate, the broken flags of its tests."""
    rows = [(img, f"r{r}", f"t/{i}", b) for img, reps in flags.items() for r, tests in enumerate(reps)
            for i, b in enumerate(tests)]
    return pd.DataFrame(rows, columns=["image_id", "replicate", "test", "broken"])


def test_group_risk_is_percent_of_pairs_with_an_interval():
    table = _table({f"im{i}": [[i % 2 == 0, i % 4 == 0]] for i in range(40)})
    r = risk.group_risk(table, 0.95)
    assert r["risk"] == pytest.approx(100 * (20 + 10) / 80) and r["n_images"] == 40 and r["replicates"] == 1
    assert r["risk_low"] < r["risk"] < r["risk_high"]
    # per-image rates are 1, 0.5, 0 (x10, x10, x20): the image component alone, t with 39 df
    rates = np.array([1.0, 0, 0.5, 0] * 10)
    half = 100 * rates.std(ddof=1) / np.sqrt(40) * 2.0227
    assert r["risk_high"] - r["risk"] == pytest.approx(half, rel=1e-3)


def test_seed_variation_widens_the_interval():
    one = _table({f"im{i}": [[i < 10]] for i in range(40)})
    # three seeds that break 5, 10 and 15 of the 40 images: same mean, seed spread on top
    three = _table({f"im{i}": [[i < 5], [i < 10], [i < 15]] for i in range(40)})
    a, b = risk.group_risk(one, 0.95), risk.group_risk(three, 0.95)
    assert a["risk"] == b["risk"] == 25.0
    assert b["se"] > a["se"] and b["df"] < a["df"]
    assert risk.estimate(np.ones((5, 1))).seed_covered is False          # one trained replicate
    assert risk.estimate(np.ones((5, 1)), np.ones((5, 1)), fixed=(True, True)).seed_covered  # fixed checkpoints


def _simulate(rng, n_images: int, k: int, effect: float, seed_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Two arms of images x replicates broken rates over 6 tests: image difficulty shared by both
    arms, a training-seed effect per replicate (independent between the arms: unpaired seeds), `effect`
    on the logit scale for the first arm."""
    difficulty = rng.normal(-1.2, 1.5, n_images)[:, None, None]

    def arm(shift: float) -> np.ndarray:
        seeds = rng.normal(0, seed_sd, k)[None, :, None]
        logit = difficulty + seeds + shift + rng.normal(0, 0.5, (n_images, k, 6))
        return (rng.random((n_images, k, 6)) < 1 / (1 + np.exp(-logit))).mean(axis=2)

    return arm(effect), arm(0.0)


def test_aa_experiments_with_seed_variation_get_no_effect_at_the_nominal_rate():
    """An A/A null: both arms trained the same way. The seed-aware estimate rejects at or below 5 %;
    the image-only estimate (each arm's replicates pooled as if one model) rejects far more often."""
    rng = np.random.default_rng(7)
    new = old = 0
    runs = 400
    for _ in range(runs):
        a, b = _simulate(rng, 100, 3, 0.0, seed_sd=0.35)
        new += risk.estimate(a, b, paired=False).p_value() < 0.05
        old += risk.estimate(a.mean(axis=1, keepdims=True), b.mean(axis=1, keepdims=True),
                             fixed=(True, True)).p_value() < 0.05
    assert new / runs <= 0.06
    assert old / runs > 0.25


def test_a_real_difference_is_still_found():
    rng = np.random.default_rng(8)
    found = sum(risk.estimate(*_simulate(rng, 100, 3, -1.5, seed_sd=0.35), paired=False).p_value() < 0.05
                for _ in range(100))
    assert found >= 80


def _per_image(clean_f1: list[float], test_f1: list[float], replicates: int = 2, break_drop: float = 0.5):
    """A score table: every image under `clean` and one perturbation of the `blur` factor."""
    rows = []
    for r in range(replicates):
        for i, (c, t) in enumerate(zip(clean_f1, test_f1, strict=True)):
            rows.append({"image_id": f"im{i:03d}", "replicate": f"r{r}", "test": "clean", "perturbation": "clean",
                         "factor": "clean", "severity": 0, "f1": c, "broken": False})
            rows.append({"image_id": f"im{i:03d}", "replicate": f"r{r}", "test": "gaussian_blur/1",
                         "perturbation": "gaussian_blur", "factor": "blur", "severity": 1, "f1": t,
                         "broken": (c - t) >= break_drop})
    return pd.DataFrame(rows)


def _clean(map50: float, k: int = 2, spread: float = 0.0, groups: int = 10) -> dict:
    """Per replicate clean mAP50 (`spread` between seeds) and leave-one-group-out values around it."""
    maps = [map50 + spread * (r - (k - 1) / 2) for r in range(k)]
    return {"map50": maps, "jackknife": [[m + 0.001 * ((g % 3) - 1) for g in range(groups)] for m in maps]}


def _audit_params(prescribed: list[str] | None = None) -> dict:
    params = default_params()
    params["variants"] = {"baseline": {"init": "models/yolov8n.yaml", "recipe": "none"},
                          "mixed": {"init": "models/yolov8n.yaml", "recipe": "mixed", "baseline": "baseline",
                                    **({"prescribed": prescribed} if prescribed else {})}}
    return params


def _audit(tables: dict, map50: dict, prescribed: list[str] | None = None) -> dict:
    params = _audit_params(prescribed)
    clean = {v: _clean(m, tables[v]["replicate"].nunique()) for v, m in map50.items()}
    return audit.audit(params, tables, clean)


def test_a_variant_worse_on_clean_and_equal_under_perturbation_is_never_helped():
    n = 100
    hit = [0.2 if i < 40 else 1.0 for i in range(n)]         # both models fail images 0..39 under blur
    baseline = _per_image([1.0] * n, hit)
    # the variant already fails images 0..49 on clean (F1 0.4), so it cannot "break" there
    variant = _per_image([0.4 if i < 50 else 1.0 for i in range(n)], [0.2 if i < 40 else f
                                                                      for i, f in enumerate([0.4] * 50 + [1.0] * 50)])
    # counted over every image, losing clean accuracy looks like robustness: 0 % vs 40 % broken
    naive = risk.estimate(risk.rates(variant[variant.test != "clean"]).to_numpy(float),
                          risk.rates(baseline[baseline.test != "clean"]).to_numpy(float))
    assert naive.value == pytest.approx(-40.0) and naive.p_value() < 1e-6
    result = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.80, "mixed": 0.60})
    assert result["variants"]["mixed"]["n_images"] == 50      # only the images both can break
    for row in result["rows"]:
        assert row["difference"] == 0 and row["verdict"] == "not assessable"   # identical: nothing to test
        assert row["map50_clean_change"] == pytest.approx(-0.2)


def test_lower_risk_bought_with_clean_accuracy_is_traded_accuracy():
    n = 100
    baseline = _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)])
    variant = _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)])     # really more robust
    helped = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.80, "mixed": 0.79})
    assert {r["verdict"] for r in helped["rows"]} == {"helped"}                     # within the tolerance
    traded = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.80, "mixed": 0.70})
    assert {r["verdict"] for r in traded["rows"]} == {"traded accuracy"}
    worse = _audit({"baseline": variant, "mixed": baseline}, {"baseline": 0.80, "mixed": 0.70})
    assert {r["verdict"] for r in worse["rows"]} == {"backfired"}                   # never softened


def test_a_prescription_is_validated_only_where_the_audit_says_helped():
    """Risk before and after per prescribed factor; validated = the targeted risk fell, significant,
    clean mAP50 within the tolerance. A factor the run did not test is reported, not validated. The
    prescribed variant is audited on the held-out half of the images only (out of sample)."""
    n = 100
    baseline = _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)])
    variant = _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)])
    ok = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.80, "mixed": 0.79}, ["blur", "weather"])
    held_out = audit.validation_half(default_params(), [f"im{i:03d}" for i in range(n)])
    assert 35 < len(held_out) < 65
    assert ok["variants"]["mixed"]["n_images"] == len(held_out)
    blur, weather = ok["variants"]["mixed"]["prescription"]
    ids = sorted(held_out)
    before = 100 * np.mean([int(i[2:]) < 40 for i in ids])
    after = 100 * np.mean([int(i[2:]) < 5 for i in ids])
    assert blur["factor"] == "blur"
    assert (blur["baseline_risk"], blur["risk"]) == (pytest.approx(before), pytest.approx(after))
    assert blur["high"] < 0 and blur["validated"]
    assert weather == {"factor": "weather", "verdict": "not tested", "validated": False}
    traded = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.80, "mixed": 0.70}, ["blur"])
    assert not traded["variants"]["mixed"]["prescription"][0]["validated"]   # clean mAP50 fell 0.10 > 0.02
    same = _audit({"baseline": baseline, "mixed": baseline}, {"baseline": 0.80, "mixed": 0.80}, ["blur"])
    assert same["variants"]["mixed"]["prescription"][0]["verdict"] == "not assessable"    # zero difference, zero SE
    assert not same["variants"]["mixed"]["prescription"][0]["validated"]
    plain = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.8, "mixed": 0.8})["variants"]["mixed"]
    assert "prescription" not in plain and plain["n_images"] == n                  # not prescribed: every image
    one = _audit({"baseline": _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)], replicates=1),
                  "mixed": _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)], replicates=1)},
                 {"baseline": 0.80, "mixed": 0.80}, ["blur"])
    assert one["variants"]["mixed"]["prescription"][0]["verdict"] == "not assessable"
    assert not one["variants"]["mixed"]["prescription"][0]["validated"]            # never at one seed


def test_a_warm_started_prescription_is_validated_against_its_control_not_the_extra_training():
    """Fine-tuning alone lowers the risk (the control); the prescribed variant, fine-tuned the same way
    with new augmentations, is no better than the control: not validated, though against the variant
    as it was the risk fell. `training_alone` reports what the fine-tuning did."""
    n = 100
    before = _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)])
    tuned = _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)])
    params = default_params()
    warm = {"init": "results/models/baseline", "train": {"epochs": 4}}
    params["variants"] = {"baseline": {"init": "models/yolov8n.yaml", "recipe": "none"},
                          "baseline_ft": {**warm, "recipe": "none", "baseline": "baseline"},
                          "baseline_rx": {**warm, "recipe": "mixed", "baseline": "baseline_ft",
                                          "prescribed_for": "baseline", "prescribed": ["blur"]}}
    clean = {v: _clean(0.8) for v in params["variants"]}
    tables = {"baseline": before, "baseline_ft": tuned, "baseline_rx": tuned}
    info = audit.audit(params, tables, clean)["variants"]["baseline_rx"]
    assert (info["prescribed_for"], info["control"]) == ("baseline", "baseline_ft")
    (blur,) = info["prescription"]
    assert blur["difference"] == 0 and blur["verdict"] == "not assessable" and not blur["validated"]
    alone = blur["training_alone"]
    assert alone["difference"] < -25 and alone["high"] < 0 and alone["verdict"] == "helped"
    params["variants"]["baseline_rx"] = {**warm, "recipe": "mixed", "baseline": "baseline", "prescribed": ["blur"]}
    without = audit.audit(params, tables, clean)["variants"]["baseline_rx"]  # no control: the confounded answer
    assert without["control"] is None and without["prescription"][0]["validated"]
    assert "training_alone" not in without["prescription"][0]


def test_one_replicate_gives_no_verdict_and_says_what_would():
    """One trained replicate per arm: the seed-to-seed spread is unknown, so no row gets a verdict, however
    large the difference; the two models' estimates are still reported."""
    n = 60
    baseline = _per_image([1.0] * n, [0.2 if i < 30 else 1.0 for i in range(n)], replicates=1)
    variant = _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)], replicates=1)
    result = _audit({"baseline": baseline, "mixed": variant}, {"baseline": 0.8, "mixed": 0.8})
    info = result["variants"]["mixed"]
    assert not info["assessable"] and info["seed_variation"] == "not covered"
    assert "NOT ASSESSABLE" in info["note"] and "train.replicates >= 2" in info["reason"]
    for row in result["rows"]:
        assert row["verdict"] == "not assessable" and row["p_value"] is None and row["low"] is None
        assert row["difference"] == pytest.approx(-100 * 25 / 60) and row["reason"]
    assert info["map50_clean_low"] is None
    # the same frames with the rule removed (an image-only test) would call it: the rule decides
    naive = risk.estimate(np.ones((n, 1)) * (np.arange(n) < 5)[:, None], np.ones((n, 1)) * (np.arange(n) < 30)[:, None],
                          fixed=(True, True))
    assert naive.p_value() < 1e-4


def test_a_zero_standard_error_is_not_significant():
    """Identical differences (or one image) leave nothing to test against: p is NaN, not 0."""
    same = np.ones((10, 3))
    e = risk.estimate(same, np.zeros((10, 3)))
    assert e.value == 100 and e.se == 0 and not e.assessable and np.isnan(e.p_value())
    assert risk.verdict(e.value, risk.adjust([e.p_value()], "holm")[0], 0.05, (0.0, 0.0), 0.02) == "not assessable"
    assert np.isnan(risk.estimate(np.ones((1, 3)), np.zeros((1, 3))).p_value())                  # one image


def test_fixed_checkpoints_keep_the_image_only_comparison_labelled_as_such():
    n = 100
    params = default_params()
    params["variants"] = {"a": {"init": "a.pt", "recipe": "none", "evaluate_only": True},
                          "b": {"init": "b.pt", "recipe": "mixed", "baseline": "a", "evaluate_only": True}}
    tables = {"a": _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)], replicates=1),
              "b": _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)], replicates=1)}
    result = audit.audit(params, tables, {v: _clean(0.8, 1) for v in ("a", "b")})
    assert result["variants"]["b"]["assessable"] and "fixed models" in result["variants"]["b"]["note"]
    assert {r["verdict"] for r in result["rows"]} == {"helped"}


def _crossed(rng, n: int, k: int, image_sd: float, seed_sd: float, noise_sd: float, shared=None):
    """images x replicates: image effects, seed effects, interaction; `shared` seed effects pair arms."""
    seeds = rng.normal(0, seed_sd, k) if shared is None else shared
    return 0.3 + rng.normal(0, image_sd, n)[:, None] + seeds[None, :] + rng.normal(0, noise_sd, (n, k))


def test_the_crossed_variance_counts_the_interaction_once():
    """Over many draws of one design, the estimated variance of the mean matches the mean's real variance
    (within Monte-Carlo error), where the old estimate (image term + seed term, interaction in both)
    overstated it."""
    rng = np.random.default_rng(3)
    n, k = 60, 3
    means, new, old = [], [], []
    for _ in range(3000):
        x = _crossed(rng, n, k, 0.05, 0.02, 0.3)
        means.append(x.mean())
        new.append(risk.estimate(x, scale=1).se ** 2)
        old.append(x.mean(axis=1).var(ddof=1) / n + x.mean(axis=0).var(ddof=1) / k)
    truth = np.var(means)
    assert np.mean(new) == pytest.approx(truth, rel=0.12)
    assert np.mean(old) > 1.5 * truth


def test_paired_seeds_remove_the_shared_seed_effect_and_stay_calibrated():
    """Arms trained with the same seeds share each seed's effect: the paired analysis cancels it (smaller
    standard errors) and, under no effect, rejects at the nominal rate."""
    rng = np.random.default_rng(4)
    n, k = 80, 5
    paired_se, unpaired_se, rejections = [], [], 0
    runs = 600
    for _ in range(runs):
        seeds = rng.normal(0, 0.08, k)
        images = rng.normal(0, 0.1, n)[:, None]
        a = 0.3 + images + seeds[None, :] + rng.normal(0, 0.02, k)[None, :] + rng.normal(0, 0.2, (n, k))
        b = 0.3 + images + seeds[None, :] + rng.normal(0, 0.02, k)[None, :] + rng.normal(0, 0.2, (n, k))
        p, u = risk.estimate(a, b), risk.estimate(a, b, paired=False)
        assert p.paired and not u.paired
        paired_se.append(p.se)
        unpaired_se.append(u.se)
        rejections += p.p_value() < 0.05
    assert np.mean(paired_se) < 0.6 * np.mean(unpaired_se)
    rate = rejections / runs
    assert 0.025 <= rate <= 0.075


def test_weighted_holm_gives_the_primary_hypotheses_their_share():
    p = [0.01, 0.04, 0.03, 0.005]
    assert risk.adjust(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])       # equal weights: Holm
    assert risk.adjust(p, "bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # one primary at weight 0.8 among 10: alone it would need p < 0.005 under Holm, now p < 0.04
    family = [0.03] + [0.5] * 9
    weights = [0.8] + [0.2 / 9] * 9
    assert risk.adjust(family, "holm")[0] == pytest.approx(0.3)
    assert risk.adjust(family, "holm", weights)[0] == pytest.approx(0.0375)
    assert risk.verdict(-4.0, risk.adjust(family, "holm", weights)[0], 0.05, (0.0, 0.0), 0.02) == "helped"
    # once the primary is rejected its weight passes on: the 9 secondaries share the whole alpha (Holm over 9)
    both = risk.adjust([0.001, 0.04] + [0.9] * 8, "holm", weights)
    assert both[0] == pytest.approx(0.00125) and both[1] == pytest.approx(0.36)
    assert np.isnan(risk.adjust([np.nan, 0.01], "holm")[0]) and risk.adjust([np.nan, 0.01], "holm")[1] == 0.01


def test_weighted_holm_controls_the_family_wise_error():
    rng = np.random.default_rng(5)
    weights = [0.8 / 3] * 3 + [0.2 / 9] * 9
    any_false = sum(min(risk.adjust(rng.random(12).tolist(), "holm", weights)) < 0.05 for _ in range(4000))
    assert any_false / 4000 <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 4000)


def test_duplicate_rows_are_one_hypothesis_and_targets_are_primary():
    n = 100
    rows = []
    for r in range(3):
        for i in range(n):
            rows.append({"image_id": f"im{i:03d}", "replicate": f"r{r}", "test": "clean", "perturbation": "clean",
                         "factor": "clean", "severity": 0, "f1": 1.0, "broken": False})
            for name, factor, cut in (("gaussian_blur", "blur", 30), ("brightness", "lighting", 20),
                                      ("contrast", "lighting", 25)):
                rows.append({"image_id": f"im{i:03d}", "replicate": f"r{r}", "test": f"{name}/1",
                             "perturbation": name, "factor": factor, "severity": 1, "f1": 0.0,
                             "broken": i < cut + 3 * r})
    table = pd.DataFrame(rows)
    result = _audit({"baseline": table, "mixed": table}, {"baseline": 0.8, "mixed": 0.8})
    by = {(r["level"], r["name"]): r for r in result["rows"]}
    assert by["perturbation", "gaussian_blur"]["role"] == "duplicate"               # blur's only perturbation
    assert by["factor", "blur"]["role"] == by["factor", "lighting"]["role"] == "primary"   # mixed targets both
    assert by["perturbation", "brightness"]["role"] == "secondary"
    assert result["variants"]["mixed"]["family_size"] == 4                           # 5 rows, 4 hypotheses


def test_an_unresolved_accuracy_cost_is_not_traded_accuracy():
    """A clean change of -0.024 with a seed spread of about 0.03 straddles -0.02: the risk fell, but the
    cost is unresolved; only a change whose whole interval lies below -0.02 is traded accuracy."""
    seeds = np.array([-0.03, 0.0, 0.03])
    jack = np.zeros((3, 10))
    base = np.array([0.80, 0.80, 0.80])
    cost = risk.clean_change(base - 0.024 + seeds, base, jack + (base - 0.024 + seeds)[:, None], jack + 0.8)
    assert cost.value == pytest.approx(-0.024) and cost.paired
    low, high = cost.interval(0.95)
    assert low < -0.02 < high
    assert risk.verdict(-10.0, 0.001, 0.05, (low, high), 0.02) == "helped, cost unresolved"
    assert risk.verdict(-10.0, 0.001, 0.05, (-0.09, -0.03), 0.02) == "traded accuracy"
    assert risk.verdict(-10.0, 0.001, 0.05, (-0.015, 0.01), 0.02) == "helped"
    assert risk.verdict(+10.0, 0.001, 0.05, (-0.09, -0.03), 0.02) == "backfired"    # never softened
    # a point-estimate rule (the rule removed) would have called it traded accuracy
    assert cost.value < -0.02


def test_the_clean_change_covers_images_through_the_jackknife():
    """Equal replicates (no seed spread): the interval is the image term alone, from the jackknife."""
    base = np.full(3, 0.8)
    arm_jack = np.array([[0.79 + 0.01 * (g % 2) for g in range(10)]] * 3)
    cost = risk.clean_change(base - 0.01, base, arm_jack - 0.01, np.full((3, 10), 0.8))
    expected = 9 / 10 * ((arm_jack[0] - 0.01 - 0.8) - (arm_jack[0] - 0.01 - 0.8).mean()).__pow__(2).sum()
    assert cost.se == pytest.approx(np.sqrt(expected))


def test_breaking_point_interpolates_on_the_ladder():
    # severities 1..3 as the ladder index (clean = 0)
    assert risk.breaking_point([0, 1, 2, 3], [10, 30, 60], 20) == pytest.approx(1.5)
    assert risk.breaking_point([0, 1, 2, 3], [10, 30, 60], 50) == pytest.approx(2 + 20 / 30)
    assert risk.breaking_point([0, 1, 3, 5], [40, 50, 90], 20) == pytest.approx(0.5)
    assert risk.breaking_point([0, 1, 2], [5, 10], 20) is None
    # a ladder in its own unit that goes down: JPEG quality 100 (clean), 25, 15, 7
    assert risk.breaking_point([100, 25, 15, 7], [10, 30, 60], 20) == pytest.approx(20.0)


def test_breaking_interval_covers_seeds_and_is_absent_at_one_seed():
    rng = np.random.default_rng(0)
    # 80 images, 3 severities, 3 replicates: risk about 10, 30, 60 %
    tensor = (rng.random((80, 3, 3)) < np.array([0.1, 0.3, 0.6])[None, :, None]).astype(float)
    values = [0.0, 1.0, 2.0, 4.0]
    curve = list(100 * tensor.mean(axis=(0, 2)))
    point = risk.breaking_point(values, curve, 20)
    low, high = risk.breaking_interval(tensor, values, 20, 0.95)
    assert low < point < high
    # seeds that disagree widen it: shift one replicate's breaks up
    spread = tensor.copy()
    spread[:, :, 0] = (rng.random((80, 3)) < np.array([0.3, 0.6, 0.9])).astype(float)
    wide = risk.breaking_interval(spread, values, 20, 0.95)
    assert wide[0] <= low
    # a zone the curve only just reaches: the upper end is beyond the ladder
    assert risk.breaking_interval(tensor, values, curve[-1] - 0.5, 0.95)[1] is None
    assert risk.breaking_interval(tensor[:, :, :1], values, 20, 0.95) is None       # one replicate: no interval


def _family(rng, n: int, k: int, seed_sds: np.ndarray) -> list[risk.Estimate]:
    """A/A estimates of one family: hypotheses with their own seed SDs, paired seeds."""
    out = []
    for sd in seed_sds:
        a = 0.3 + rng.normal(0, 0.1, (n, 1)) + rng.normal(0, sd, (1, k)) + rng.normal(0, 0.2, (n, k))
        b = a - rng.normal(0, sd, (1, k)) - rng.normal(0, 0.2, (n, k)) + rng.normal(0, sd, (1, k))
        out.append(risk.estimate(a, b))
    return out


def test_moderation_borrows_degrees_of_freedom_where_the_family_agrees_and_stays_calibrated():
    rng = np.random.default_rng(11)
    same = np.full(12, 0.05)
    raw, moderated, rejections, runs = [], [], 0, 300
    for _ in range(runs):
        family = _family(rng, 60, 3, same)
        shrunk = risk.moderate(family)
        raw += [e.df for e in family]
        moderated += [e.df for e in shrunk]
        rejections += sum(e.p_value() < 0.05 for e in shrunk)
    assert np.median(moderated) > 3 * np.median(raw)                  # 2 df become many
    assert 0.03 <= rejections / (12 * runs) <= 0.07
    # seed variances that differ by 100x: the prior's weight comes out small, little is borrowed
    spread = np.geomspace(0.005, 0.2, 12)
    family = _family(rng, 60, 3, spread)
    d0, _ = risk.prior(np.array([e.seeds[0][0] for e in family]), np.array([e.seeds[0][1] for e in family]))
    assert d0 < 4
    # not assessable rows are left alone, and a family of fewer than 3 is not moderated
    lone = risk.estimate(np.ones((5, 1)), np.zeros((5, 1)))
    assert risk.moderate([lone, *family[:2]]) == [lone, *family[:2]]


def test_findings_say_what_no_verdict_and_no_effect_mean():
    """The report's findings: a one-seed variant is not assessable and says what would make it so; a
    targeted 'no effect' at 3 seeds carries the adjusted p and the power behind it; a detected effect
    does not."""
    from augaudit.stages import report

    n = 100
    metrics = {v: {"replicates": k, "map50_clean": 0.8, "map50_clean_sd": 0.01} for v, k in (("mixed", 3),)}
    baseline = _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)], replicates=3)
    intact = _per_image([1.0] * n, [1.0] * n, replicates=3)  # nothing breaks: a row with no variation at all
    same = _audit({"baseline": intact, "mixed": intact.copy()}, {"baseline": 0.8, "mixed": 0.8})
    noisy = [[0.2 if (i + r) % 3 == 0 else 1.0 for i in range(n)] for r in range(3)]
    def table(shift: int) -> pd.DataFrame:  # the same broken rate per image, other images per seed
        return pd.concat([_per_image([1.0] * n, noisy[(r + shift) % 3], replicates=1).assign(replicate=f"r{r}")
                          for r in range(3)])
    blind = _audit({"baseline": table(0), "mixed": table(1)}, {"baseline": 0.8, "mixed": 0.8})
    line = report.findings(metrics, blind)[0]
    assert "no effect on blur" in line and "adjusted p 1.000" in line and report.power(3) in html.unescape(line)
    helped = _audit({"baseline": baseline, "mixed": _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)],
                                                               replicates=3)}, {"baseline": 0.8, "mixed": 0.8})
    line = report.findings(metrics, helped)[0]
    assert "helped on blur" in line and "adjusted p < 0.001" in html.unescape(line)
    assert "so 'no effect' means none detected" not in html.unescape(line)
    one = _audit({"baseline": _per_image([1.0] * n, [0.2 if i < 40 else 1.0 for i in range(n)], replicates=1),
                  "mixed": _per_image([1.0] * n, [0.2 if i < 5 else 1.0 for i in range(n)], replicates=1)},
                 {"baseline": 0.8, "mixed": 0.8})
    line = html.unescape(report.findings({"mixed": {**metrics["mixed"], "replicates": 1}}, one)[0])
    assert "not assessable" in line and report.ASSESSABLE in line and "blur 40.0 → 5.0 %" in line
    # a row with zero variation is not assessable on its own, and does not make the variant unassessable
    assert {r["verdict"] for r in same["rows"]} == {"not assessable"} and same["variants"]["mixed"]["assessable"]


def test_the_image_term_enters_the_degrees_of_freedom():
    """No effect, no seed or image effect, only image x seed noise (broken or not per cell), 3 seeds:
    the paired difference's p-values keep the 1 % tail that the family-wise correction works in.
    Counting the image term as known (df from the seed term alone, Hillis's ddf) inflates the df
    when the seed term comes out small and rejects too often there."""
    from scipy import stats

    rng = np.random.default_rng(5)
    n, k, runs = 55, 3, 4000
    new = old = 0
    for _ in range(runs):
        e = risk.estimate(rng.binomial(1, 0.4, (n, k)).astype(float), rng.binomial(1, 0.4, (n, k)).astype(float),
                          paired=True)
        if not e.assessable:
            continue
        new += e.p_value() < 0.01
        den = sum(t ** 2 / d for t, d in e.seeds if t > 0)
        seed_only = e.se ** 4 / den if den else e.df
        old += 2 * stats.t.sf(abs(e.value) / e.se, seed_only) < 0.01
    assert new / runs < 0.012          # nominal 1 %, Monte-Carlo SE 0.16 %
    assert old / runs > 0.014          # the rule removed


def test_the_audit_pairs_seeds_when_both_arms_are_trained_alike_and_welch_otherwise():
    """Replicate rI of both arms shares seed I: a seed that breaks many images does so in both. The audit
    analyses the per-replicate differences (the shared seed effect cancels) and finds a steady fall of
    7-9 pp that the unpaired analysis, carrying both arms' seed spread of 40 pp, cannot see; with unequal
    replicate counts nothing can be paired and Welch is used."""
    n = 100
    extra = [10, 30, 50]  # images the seed breaks, in both arms

    def arm(fewer: list[int], k: int = 3) -> pd.DataFrame:
        return pd.concat([_per_image([1.0] * n, [0.2 if i < extra[r] - fewer[r] + 20 else 1.0 for i in range(n)],
                                     replicates=1).assign(replicate=f"r{r}") for r in range(k)])

    paired = _audit({"baseline": arm([0, 0, 0]), "mixed": arm([7, 8, 9])}, {"baseline": 0.8, "mixed": 0.8})
    row = next(r for r in paired["rows"] if r["level"] == "factor" and r["name"] == "blur")
    assert row["paired"] and paired["variants"]["mixed"]["paired_seeds"]
    assert row["difference"] == pytest.approx(-8.0) and row["verdict"].startswith("helped"), row
    assert "seeds paired" in paired["variants"]["mixed"]["note"]
    unpaired = audit.audit(_audit_params(), {"baseline": arm([0, 0, 0]), "mixed": arm([7, 8, 9])},
                             {v: _clean(0.8, 3) for v in ("baseline", "mixed")}, paired=False)
    row = next(r for r in unpaired["rows"] if r["level"] == "factor" and r["name"] == "blur")
    assert not row["paired"] and row["verdict"] == "no effect" and row["p_value"] > 0.05, row
    welch = _audit({"baseline": arm([0, 0], k=2), "mixed": arm([7, 8, 9])}, {"baseline": 0.8, "mixed": 0.8})
    assert not any(r["paired"] for r in welch["rows"]) and not welch["variants"]["mixed"]["paired_seeds"]
    assert "arms analysed as independent" in welch["variants"]["mixed"]["note"]
