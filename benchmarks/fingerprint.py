"""What a user's dataset adds to planning a no-op, in each engine (docs/reproducibility.md).

Snakemake: prepare's `source` param is `augaudit.datasets.fingerprint` (content hashes with a stat
cache), computed every time the Snakefile is parsed. DVC: dvc.yaml's prepare depends on the data yaml
and the folders it reaches (`make dvc.yaml`), which `dvc status` checks through its own state cache.
This writes a synthetic YOLO dataset of `--images` evaluation images (plus two train and two val) at
`--imgsz` into a temporary folder, then times the fingerprint (cold: every file hashed; warm: a no-op;
after one label is edited) and `dvc status` of a one-stage DVC project depending on the same folders
(after the first `dvc repro`: a no-op; after one label edit).

    .venv/bin/python benchmarks/fingerprint.py [--images 5000] [--imgsz 320]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from augaudit import datasets, dvcfile, synthetic


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dvc(project: Path, *args: str) -> None:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": path}
    subprocess.run(["dvc", *args], cwd=project, check=True, capture_output=True, env=env)


def dvc_project(project: Path, source: str) -> Path:
    """A git + DVC project with one stage depending on what prepare reads of `source` (as
    `make dvc.yaml` lists it; nothing for synthetic)."""
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    dvc(project, "init", "-q")
    deps = dvcfile.source_deps({"dataset": {"source": source}}, project)
    listed = "    deps:\n" + "".join(f"      - {d}\n" for d in deps) if deps else ""
    (project / "dvc.yaml").write_text(f"stages:\n  prepare:\n    cmd: echo done > out.txt\n{listed}"
                                      "    outs:\n      - out.txt\n")
    return project


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--imgsz", type=int, default=320)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        data_yaml = root / "data.yaml"
        synthetic.generate(root, 0, args.imgsz, {"train": 2, "val": 2, "test": args.images}, 8, 2)
        files = len(datasets.source_files(data_yaml))
        size = subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True).stdout.split()[0]
        print(f"{args.images} images at {args.imgsz} px, {files} files, {int(size):,} B")

        cache = Path(tmp) / "sources.json"
        cold = timed(lambda: datasets.fingerprint(data_yaml, cache))
        time.sleep(datasets.RACY_NS / 1e9)  # past the window in which a fresh hash is not trusted yet
        settle = timed(lambda: datasets.fingerprint(data_yaml, cache))  # re-hashes what was just written
        warm = [timed(lambda: datasets.fingerprint(data_yaml, cache)) for _ in range(5)]
        label = root / "labels/test/test_00000.txt"
        label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n")
        edited = timed(lambda: datasets.fingerprint(data_yaml, cache))
        print(f"Snakemake's fingerprint: cold {cold:.2f} s; first after the racy window {settle:.2f} s; "
              f"warm no-op median of 5 {statistics.median(warm):.3f} s (max {max(warm):.3f}); "
              f"after one label edited {edited:.3f} s")

        project = dvc_project(Path(tmp) / "project", "../data/data.yaml")
        first = timed(lambda: dvc(project, "repro", "-q"))
        status = [timed(lambda: dvc(project, "status")) for _ in range(5)]
        empty = dvc_project(Path(tmp) / "empty", "synthetic")
        dvc(empty, "repro", "-q")
        baseline = [timed(lambda: dvc(empty, "status")) for _ in range(5)]
        label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n")
        after = timed(lambda: dvc(project, "status"))
        print(f"DVC: first repro (hashes every file) {first:.2f} s; dvc status no-op median of 5 "
              f"{statistics.median(status):.2f} s against {statistics.median(baseline):.2f} s without the dataset "
              f"(extra {statistics.median(status) - statistics.median(baseline):+.2f} s); after one label edited "
              f"{after:.2f} s")


if __name__ == "__main__":
    main()
