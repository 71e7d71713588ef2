"""Batched prediction with Ultralytics into the predictions contract.

Predictions keep every box above a low confidence (`predict.conf`, 0.001 by default) so that mAP
sees the whole ranking; the per-image F1 applies its own, higher threshold later.

`Detector` runs the steps of Ultralytics' `model.predict(rect=False)` itself so that they overlap:
a pool of loader threads decodes and letterboxes the next batches (OpenCV releases the GIL) while
the model runs on the current one. The model is Ultralytics' `AutoBackend`, as `predict` builds it
(Conv+BN fused, channels-last on x86 CPUs, half precision on CUDA only: CPU kernels for fp16 are
slow or missing); batches go to a CUDA device from pinned memory; NMS and the rescaling to the
original image are Ultralytics' own. The detections equal `model.predict`'s (tests/test_inference.py)
with two differences, both on bad days only: an unreadable image is an error naming the file, where
`predict` warns and skips it, and NMS has no time limit, where `predict` stops after 2 s + 0.05 s
per image of a batch and returns no boxes for the batch's remaining images (a loaded CPU, a long
low-confidence ranking).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from augaudit.datasets import DatasetError

COLUMNS = ["image_id", "class_id", "score", "x1", "y1", "x2", "y2"]  # the predictions contract
PREFETCH = 2  # batches decoded ahead of the one the model is running, on CUDA (see Detector)


class Detector:
    """One model's detections on lists of image files, with `settings` = params.yaml's `predict`."""

    def __init__(self, weights: Path | str, settings: dict, device: str, workers: int = 1, prefetch: int | None = None):
        import torch
        from ultralytics.data.augment import LetterBox
        from ultralytics.nn.autobackend import AutoBackend
        from ultralytics.utils.torch_utils import select_device

        self.torch_device = select_device(device, verbose=False)
        self.cuda = self.torch_device.type == "cuda"
        self.model = AutoBackend(Path(weights), device=self.torch_device, fp16=bool(settings.get("half")) and self.cuda,
                                 fuse=True, verbose=False).eval()
        # rect=False: every image is padded to the same square, so an image's detections never depend
        # on which other images share its batch (rect batches are padded to each batch's own shape)
        self.letterbox = LetterBox((settings["imgsz"], settings["imgsz"]), auto=False, stride=self.model.stride)
        self.settings = settings
        self.workers = max(1, workers)
        # On a CPU the forward pass already has every core of the job: decoding beside it would take
        # cores from torch's threads, so the loader threads decode each batch just before it is run
        self.prefetch = (PREFETCH if self.cuda else 0) if prefetch is None else prefetch
        self._torch = torch

    def _load(self, item) -> tuple[tuple[int, int], np.ndarray]:
        """(height, width) of the image as stored, and the image letterboxed (BGR, uint8). `item`: an image
        file, or anything with `bgr()` (a perturbed test image, regenerated here when not kept)."""
        from ultralytics.utils.patches import imread  # Ultralytics' own decoder (any path, 3 channels)

        image = item.bgr() if hasattr(item, "bgr") else imread(str(item))
        if image is None:
            raise DatasetError(f"{item}: not a readable image")
        return image.shape[:2], self.letterbox(image=image)

    def _batches(self, images: list) -> Iterator[tuple[list[tuple[int, int]], object]]:
        """(original shapes, uint8 BHWC tensor) per batch, decoded `prefetch` batches ahead in threads."""
        batch = self.settings["batch"]
        chunks = [images[i:i + batch] for i in range(0, len(images), batch)]

        def assemble(chunk: list):
            loaded = list(loader.map(self._load, chunk))
            tensor = self._torch.from_numpy(np.stack([image for _, image in loaded]))
            return [shape for shape, _ in loaded], tensor.pin_memory() if self.cuda else tensor

        with ThreadPoolExecutor(self.workers, "augaudit-load") as loader, ThreadPoolExecutor(1) as ahead:
            pending = deque(ahead.submit(assemble, chunk) for chunk in chunks[:self.prefetch])
            for i, chunk in enumerate(chunks):
                ready = pending.popleft().result() if pending else assemble(chunk)
                if self.prefetch and i + self.prefetch < len(chunks):
                    pending.append(ahead.submit(assemble, chunks[i + self.prefetch]))
                yield ready

    def __call__(self, images: list) -> pd.DataFrame:
        """One frame of detections (pixel xyxy of each image as stored) for a list of image files or test
        images (augaudit.testsets); an image's id is its file stem."""
        from ultralytics.utils import nms, ops

        torch, s = self._torch, self.settings
        ids, columns = [], []
        names = iter(images)
        with torch.inference_mode():
            for shapes, batch in self._batches(images):
                # as Ultralytics' preprocess: uint8 to the device, then BHWC to BCHW, BGR to RGB, 0-1
                x = batch.to(self.torch_device, non_blocking=self.cuda).permute(0, 3, 1, 2).contiguous().flip(1)
                x = (x.half() if self.model.fp16 else x.float()).div_(255)
                kept = nms.non_max_suppression(self.model(x), s["conf"], s["iou"], None, False, max_det=s["max_det"],
                                               nc=0, end2end=getattr(self.model, "end2end", False),
                                               max_time_img=float("inf"))  # no time limit: see the docstring
                for shape, boxes in zip(shapes, kept, strict=True):
                    boxes[:, :4] = ops.scale_boxes(x.shape[2:], boxes[:, :4], shape)
                    data = boxes[:, :6].float().cpu().numpy()  # x1, y1, x2, y2, score, class per row
                    ids += [next(names).stem] * len(data)
                    columns.append(data)
        data = np.concatenate(columns) if columns else np.zeros((0, 6), np.float32)
        return pd.DataFrame({"image_id": pd.array(ids, dtype="string"), "class_id": data[:, 5].astype("int32"),
                             "score": data[:, 4].astype("float32"), "x1": data[:, 0].astype("float32"),
                             "y1": data[:, 1].astype("float32"), "x2": data[:, 2].astype("float32"),
                             "y2": data[:, 3].astype("float32")})
