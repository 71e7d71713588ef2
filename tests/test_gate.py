"""The CI regression gate: exit 1 only on a significant rise beyond the tolerance, 2 on runs that
are not comparable."""

from __future__ import annotations

import json
import subprocess
import sys

from augaudit import command

from conftest import engine_env


def _risk(value: float, se: float = 1.0) -> dict:
    return {"risk": value, "se": se, "df": 60.0}


def _metrics(overall: float, blur: float, noise: float, se: float = 1.0, tests=("gaussian_blur/1",)) -> dict:
    factors = {"blur": _risk(blur, se), "noise": _risk(noise, se)}
    return {"mixed": {"risk": _risk(overall, se), "risk_by_factor": factors, "tests": list(tests)}}


def _gate(tmp_path, current, baseline, *extra):
    (tmp_path / "now.json").write_text(json.dumps(current))
    (tmp_path / "base.json").write_text(json.dumps(baseline))
    return subprocess.run([sys.executable, "-m", "augaudit.command", "gate", "--metrics", str(tmp_path / "now.json"),
                           "--baseline", str(tmp_path / "base.json"), *extra], capture_output=True, text=True)


def test_significant_factor_regression_fails_and_is_named(tmp_path):
    result = _gate(tmp_path, _metrics(20, 35, 10), _metrics(19, 30, 12), "--tolerance", "2")
    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("mixed") and " blur " in ln)
    assert line.split()[:5] == ["mixed", "blur", "30.0", "35.0", "+5.0"] and line.endswith("REGRESSED")
    assert "1 regression(s)" in result.stdout


def test_a_rise_within_the_noise_does_not_fail(tmp_path):
    # the same +5 points, but each run's risk is uncertain by 4 points: not significant
    result = _gate(tmp_path, _metrics(20, 35, 10, se=4), _metrics(19, 30, 12, se=4), "--tolerance", "2")
    assert result.returncode == 0, result.stdout
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("mixed") and " blur " in ln)
    assert line.endswith("rise within noise")


def test_within_tolerance_passes(tmp_path):
    result = _gate(tmp_path, _metrics(20, 31, 10), _metrics(19, 30, 12), "--tolerance", "2")
    assert result.returncode == 0, result.stdout


def test_runs_that_tested_different_things_exit_2(tmp_path):
    other_tests = _gate(tmp_path, _metrics(20, 35, 10, tests=["fog/1"]), _metrics(19, 30, 12))
    assert other_tests.returncode == 2 and "did not test the same things" in other_tests.stderr
    assert "different tests" in other_tests.stderr and other_tests.stderr.count("\n") == 1
    fewer_factors = _metrics(20, 35, 10)
    del fewer_factors["mixed"]["risk_by_factor"]["noise"]
    assert "different factors (noise)" in _gate(tmp_path, fewer_factors, _metrics(19, 30, 12)).stderr
    renamed = {"flips": _metrics(20, 35, 10)["mixed"]}
    result = _gate(tmp_path, renamed, _metrics(19, 30, 12))
    assert result.returncode == 2 and "flips only in the current run" in result.stderr


def test_missing_baseline_is_an_error_not_a_pass(tmp_path):
    (tmp_path / "now.json").write_text(json.dumps(_metrics(1, 1, 1)))
    missing = ["gate", "--metrics", str(tmp_path / "now.json"), "--baseline", str(tmp_path / "nope.json")]
    assert command.main(missing) == 2


def test_baseline_from_a_git_revision(tmp_path):
    env = engine_env(tmp_path)
    path = tmp_path / "results/summary/metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_metrics(10, 10, 10)))
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A", "-f"],
                ["git", "commit", "-qm", "baseline"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env)
    path.write_text(json.dumps(_metrics(10, 25, 10)))
    result = subprocess.run(["augaudit", "gate", "--baseline-rev", "HEAD"], cwd=tmp_path, capture_output=True,
                            text=True, env=env)
    assert result.returncode == 1 and "REGRESSED" in result.stdout, result.stdout + result.stderr


def test_options_and_numbers_outside_their_domain_are_refused_by_name(tmp_path):
    """A NaN tolerance or alpha would pass any regression; an empty or NaN-bearing metrics file is not a
    finished run: each is exit 2 and one line naming the option, the file and the key."""
    ok = _metrics(10, 10, 10)
    worse = _metrics(50, 50, 50, se=0.1)
    for option, value in (("--tolerance", "nan"), ("--tolerance", "-1"), ("--tolerance", "inf"),
                          ("--alpha", "nan"), ("--alpha", "0"), ("--alpha", "1.5")):
        out = _gate(tmp_path, worse, ok, option, value)
        assert out.returncode == 2 and f"argument {option}: {value!r}" in out.stderr, out.stderr
    out = _gate(tmp_path, {}, {})
    assert out.returncode == 2 and "now.json: not a finished run's metrics (no variant in it)" in out.stderr
    nan = _metrics(10, 10, 10)
    nan["mixed"]["risk_by_factor"]["noise"]["risk"] = float("nan")
    out = _gate(tmp_path, nan, ok)
    assert out.returncode == 2 and "now.json: mixed.risk_by_factor.noise.risk: nan is not a number" in out.stderr
    gone = _metrics(10, 10, 10)
    del gone["mixed"]["risk"]["se"]
    out = _gate(tmp_path, ok, gone)
    assert out.returncode == 2 and "base.json: mixed.risk.se: missing" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
