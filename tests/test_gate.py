"""The CI regression gate: exit 1 when overall or a factor's risk rises beyond the tolerance."""

from __future__ import annotations

import json
import subprocess
import sys

from augaudit import gate

from conftest import engine_env


def _metrics(overall: float, blur: float, noise: float) -> dict:
    return {"mixed": {"risk": {"risk": overall}, "risk_by_factor": {"blur": {"risk": blur}, "noise": {"risk": noise}}}}


def _gate(tmp_path, current, baseline, *extra):
    (tmp_path / "now.json").write_text(json.dumps(current))
    (tmp_path / "base.json").write_text(json.dumps(baseline))
    return subprocess.run([sys.executable, "-m", "augaudit.gate", "--metrics", str(tmp_path / "now.json"),
                           "--baseline", str(tmp_path / "base.json"), *extra], capture_output=True, text=True)


def test_factor_regression_fails_and_is_named(tmp_path):
    result = _gate(tmp_path, _metrics(20, 35, 10), _metrics(19, 30, 12), "--tolerance", "2")
    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("mixed") and " blur " in ln)
    assert line.split() == ["mixed", "blur", "30.0", "35.0", "+5.0", "REGRESSED"]
    assert "1 regression(s)" in result.stdout


def test_within_tolerance_passes(tmp_path):
    result = _gate(tmp_path, _metrics(20, 31, 10), _metrics(19, 30, 12), "--tolerance", "2")
    assert result.returncode == 0, result.stdout


def test_missing_baseline_is_an_error_not_a_pass(tmp_path):
    (tmp_path / "now.json").write_text(json.dumps(_metrics(1, 1, 1)))
    assert gate.main(["--metrics", str(tmp_path / "now.json"), "--baseline", str(tmp_path / "nope.json")]) == 2


def test_baseline_from_a_git_revision(tmp_path):
    env = engine_env(tmp_path)
    path = tmp_path / "results/summary/metrics.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_metrics(10, 10, 10)))
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A", "-f"],
                ["git", "commit", "-qm", "baseline"]):
        subprocess.run(cmd, cwd=tmp_path, check=True, env=env)
    path.write_text(json.dumps(_metrics(10, 25, 10)))
    result = subprocess.run(["augaudit-gate", "--baseline-rev", "HEAD"], cwd=tmp_path, capture_output=True,
                            text=True, env=env)
    assert result.returncode == 1 and "REGRESSED" in result.stdout, result.stdout + result.stderr
