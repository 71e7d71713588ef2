"""`make profile`: Snakemake's per-job benchmark files summed per stage."""

from __future__ import annotations

from augaudit import command, timings

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _job(root, rel, seconds, rss, cpu):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:01\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_summary_per_stage(tmp_path, capsys):
    _job(tmp_path, "train/baseline/r0.tsv", 100.0, 900.0, 190.0)
    _job(tmp_path, "train/baseline/r1.tsv", 60.0, 1200.0, 110.0)
    _job(tmp_path, "predict/baseline/fog.tsv", 30.0, 500.0, 25.0)
    _job(tmp_path, "compare.tsv", 10.0, 300.0, 9.0)
    table = timings.summary(timings.collect(tmp_path))
    assert table.index.tolist() == ["train", "predict", "compare"]
    assert table.loc["train", ["jobs", "total_s", "max_s", "peak_mb"]].tolist() == [2, 160.0, 100.0, 1200.0]
    assert table["share_%"].sum() == 100.0 and table.loc["compare", "share_%"] == 5.0
    assert command.main(["profile", "--benchmarks", str(tmp_path)]) == 0
    assert "4 jobs, 200 s of job wall time" in capsys.readouterr().out


def test_no_benchmarks_is_an_error(tmp_path, capsys):
    assert command.main(["profile", "--benchmarks", str(tmp_path)]) == 2
    assert "no Snakemake benchmark files" in capsys.readouterr().err


def test_start_up_and_work_come_from_each_jobs_log(tmp_path):
    bench = tmp_path / "benchmark"
    _job(bench, "predict/baseline/fog.tsv", 10.0, 500.0, 9.0)
    _job(bench, "predict/baseline/vflip.tsv", 6.0, 500.0, 5.0)
    _job(bench, "compare.tsv", 4.0, 300.0, 3.0)
    (tmp_path / "predict" / "baseline").mkdir(parents=True)
    (tmp_path / "predict/baseline/fog.log").write_text("loading\ntiming: start-up 2.50 s, work 7.00 s\n")
    (tmp_path / "predict/baseline/vflip.log").write_text(  # a re-run appended: the last line counts
        "timing: start-up 9.00 s, work 9.00 s\nok\ntiming: start-up 2.00 s, work 3.50 s\n")
    (tmp_path / "compare.log").write_text("Traceback ...\nerror: compare: unexpected\n")  # failed: no line
    jobs = timings.collect(bench)
    assert jobs.set_index("job").loc["predict/baseline/vflip", ["startup_s", "work_s"]].tolist() == [2.0, 3.5]
    table = timings.summary(jobs)
    assert table.loc["predict", ["startup_s", "work_s"]].tolist() == [4.5, 10.5]
    assert abs(table.loc["predict", "outside_%"] - 100 * (16 - 10.5) / 16) < 1e-9
    assert table.loc["compare", ["startup_s", "work_s"]].isna().all()


def test_a_stage_writes_its_timing_line(tmp_path):
    """The real entry point: a stage run by its script ends its log with the timing line."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    __import__("shutil").copytree(root / "models", tmp_path / "models")  # params name models/yolov8n.yaml
    result = subprocess.run([sys.executable, str(root / "scripts" / "scope.py"), "--params", str(root / "params.yaml")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "AUGAUDIT_CONFIG_DIR": str(tmp_path / ".config")})
    assert result.returncode == 0, result.stderr
    startup, work = timings.split_text(result.stderr)
    assert 0 < startup < 120 and 0 <= work < 120


def test_progress_in_a_log_is_lines_not_redraws(capsys):
    from augaudit import progress

    assert list(progress.steps(range(3), "score mixed", unit="test")) == [0, 1, 2]
    progress.done("score mixed: 3 tests", 0.0)
    err = capsys.readouterr().err
    assert "\r" not in err and "score mixed: 100%|" in err and err.splitlines()[-1].startswith("score mixed: 3 tests (")
