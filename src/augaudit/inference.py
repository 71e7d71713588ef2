"""Batched prediction with Ultralytics into the predictions contract.

Predictions keep every box above a low confidence (`predict.conf`, 0.001 by default) so that mAP
sees the whole ranking; the per-image F1 applies its own, higher threshold later. Half precision is
used on CUDA only (CPU kernels for fp16 are slow or missing).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["image_id", "class_id", "score", "x1", "y1", "x2", "y2"]


def predict(model, images: list[Path], settings: dict, device: str) -> pd.DataFrame:
    """One frame of detections (pixel xyxy of each image as given) for a list of image files."""
    rows = []
    batch = settings["batch"]
    for start in range(0, len(images), batch):
        chunk = [str(p) for p in images[start:start + batch]]
        results = model.predict(chunk, imgsz=settings["imgsz"], conf=settings["conf"], iou=settings["iou"],
                                max_det=settings["max_det"], device=device, batch=len(chunk), verbose=False,
                                quantize=16 if settings.get("half") and device != "cpu" else None)
        for path, r in zip(chunk, results):
            boxes = r.boxes
            image_id = Path(path).stem
            for cls, score, xyxy in zip(boxes.cls.tolist(), boxes.conf.tolist(), boxes.xyxy.tolist()):
                rows.append((image_id, int(cls), float(score), *map(float, xyxy)))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"image_id": "string", "class_id": "int32", "score": "float32", "x1": "float32",
                         "y1": "float32", "x2": "float32", "y2": "float32"})
