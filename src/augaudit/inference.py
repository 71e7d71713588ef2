"""Batched prediction with Ultralytics into the predictions contract.

Predictions keep every box above a low confidence (`predict.conf`, 0.001 by default) so that mAP
sees the whole ranking; the per-image F1 applies its own, higher threshold later. Half precision is
used on CUDA only (CPU kernels for fp16 are slow or missing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["image_id", "class_id", "score", "x1", "y1", "x2", "y2"]  # the predictions contract

def predict(model, images: list[Path], settings: dict, device: str) -> pd.DataFrame:
    """One frame of detections (pixel xyxy of each image as given) for a list of image files.

    `rect=False` pads every image to the same square, so an image's detections never depend on
    which other images share its batch (with `rect`, same-shape batches are padded differently).
    """
    ids, columns = [], []
    batch = settings["batch"]
    for start in range(0, len(images), batch):
        chunk = [str(p) for p in images[start:start + batch]]
        results = model.predict(chunk, imgsz=settings["imgsz"], conf=settings["conf"], iou=settings["iou"],
                                max_det=settings["max_det"], device=device, batch=len(chunk), verbose=False,
                                rect=False, quantize=16 if settings.get("half") and device != "cpu" else None)
        for path, r in zip(chunk, results, strict=True):
            data = r.boxes.data.float().cpu().numpy()  # x1, y1, x2, y2, score, class per row
            ids += [Path(path).stem] * len(data)
            columns.append(data)
    data = np.concatenate(columns) if columns else np.zeros((0, 6), np.float32)
    return pd.DataFrame({"image_id": pd.array(ids, dtype="string"), "class_id": data[:, 5].astype("int32"),
                         "score": data[:, 4].astype("float32"), "x1": data[:, 0].astype("float32"),
                         "y1": data[:, 1].astype("float32"), "x2": data[:, 2].astype("float32"),
                         "y2": data[:, 3].astype("float32")})
