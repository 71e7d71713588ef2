"""augaudit: robustness risk scores and an augmentation audit for YOLO detection models."""

import os

# Albumentations checks PyPI for updates at import unless told not to; nothing here goes online.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
