"""augaudit: robustness risk scores and an augmentation audit for YOLO detection models."""

import os

# Albumentations checks PyPI for updates at import unless told not to; nothing here goes online.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

# The cores a stage may use, read before Ultralytics' import sets OMP_NUM_THREADS to 1 when it is
# unset: the engine's allocation (Snakemake exports a job's `threads` as OMP_NUM_THREADS, which the
# SLURM profiles set from the allocation), else every core this process may run on.
THREADS = int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))

__version__ = "0.1.0"
