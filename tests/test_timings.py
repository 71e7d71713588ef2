"""`make profile`: Snakemake's per-job benchmark files summed per stage."""

from __future__ import annotations

from augaudit import timings

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
    assert timings.main(["--benchmarks", str(tmp_path)]) == 0
    assert "4 jobs, 200 s of job wall time" in capsys.readouterr().out


def test_no_benchmarks_is_an_error(tmp_path, capsys):
    assert timings.main(["--benchmarks", str(tmp_path)]) == 2
    assert "no Snakemake benchmark files" in capsys.readouterr().err
