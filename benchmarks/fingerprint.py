"""What fingerprinting a user's dataset adds to planning (the `source` stage, augaudit.datasets.fingerprint).

Snakemake computes the fingerprint every time it plans (`snakemake -n` included), DVC in its `source`
stage on every `dvc repro`. It writes a synthetic YOLO dataset of `--images` evaluation images (plus two
train and two val) at `--imgsz` into a temporary folder, then times the fingerprint: cold (every file
hashed, the stat cache written), warm (a no-op: one stat per file), and after one label is edited.

    .venv/bin/python benchmarks/fingerprint.py [--images 5000] [--imgsz 320]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from augaudit import datasets, synthetic


def timed(data_yaml: Path, cache: Path) -> float:
    start = time.perf_counter()
    datasets.fingerprint(data_yaml, cache)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--imgsz", type=int, default=320)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        synthetic.generate(root, 0, args.imgsz, {"train": 2, "val": 2, "test": args.images}, 8, 2)
        files = len(datasets.source_files(root / "data.yaml"))
        size = subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True).stdout.split()[0]
        cache = Path(tmp) / "sources.json"
        cold = timed(root / "data.yaml", cache)
        time.sleep(datasets.RACY_NS / 1e9)  # past the window in which a fresh hash is not trusted yet
        settle = timed(root / "data.yaml", cache)  # re-hashes what was modified just before the first
        warm = [timed(root / "data.yaml", cache) for _ in range(5)]
        label = root / "labels/test/test_00000.txt"
        label.write_text(label.read_text() + "0 0.5 0.5 0.1 0.1\n")
        edited = timed(root / "data.yaml", cache)
        print(f"{args.images} images at {args.imgsz} px, {files} files, {int(size):,} B")
        print(f"cold (every file hashed): {cold:.2f} s; first after the racy window: {settle:.2f} s")
        print(f"warm no-op, median of 5: {statistics.median(warm):.3f} s (min {min(warm):.3f}, max {max(warm):.3f})")
        print(f"after one label edited: {edited:.3f} s")


if __name__ == "__main__":
    main()
