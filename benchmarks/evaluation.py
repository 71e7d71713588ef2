"""Evaluation throughput: raw model forward vs augaudit's predict + score vs Ultralytics' `model.val()`.

On the same images (the first `--images` of a YOLO dataset's val split; default all 128 of
../shared/datasets/coco128, relative to the repository root) and the same weights
(../shared/weights/yolov8n.pt), it prints images per second for

  (a) raw forward: the images letterboxed to imgsz x imgsz, stacked into `--batch` tensors already on
      the device, through the model as Ultralytics runs it (AutoBackend: fused, channels-last on x86
      CPUs, fp16 on CUDA) under torch.inference_mode: no decoding, no NMS;
  (b) ours: `augaudit.inference.Detector` over the image files (conf 0.001, NMS IoU 0.7, max_det 300,
      the predict stage's settings) + reading the labels + `augaudit.metrics.coco_map`, i.e. what
      the predict and score stages do for one test set;
  (p) Ultralytics' `model.predict` over the same files in `--batch` chunks (what the predict stage
      called before it had its own loader threads), for comparison with (b)'s prediction alone;
  (c) `model.val()` on a data yaml pointing at a temporary copy of the same images and labels, with
      the same conf / iou / max_det / batch; `rect=False` so that it letterboxes like (b) and the two
      mAPs are comparable (`--val-rect` uses Ultralytics' default rectangular batches instead),

and the ratios ours/raw and ours/val, plus the mAP50 / mAP50-95 of (b) and (c). Each figure is the
best of `--repeats` timed runs (time.perf_counter) after one untimed warm-up run; the models are
loaded before timing. `--device auto` uses CUDA when present (half precision there, as the predict
stage does with `predict.half`), else the CPU in fp32. Torch runs on the threads a predict job gets
(`OMP_NUM_THREADS`, else every core: augaudit.THREADS), and so does the detector's loader pool.

Run from the repository root, e.g. the small CPU configuration:

    .venv/bin/python benchmarks/evaluation.py --images 32 --imgsz 320 --batch 8 --device cpu
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from augaudit import THREADS, datasets, inference, metrics, runtime
from augaudit.stages.score import references

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DATASET = SHARED / "datasets" / "coco128"
WEIGHTS = SHARED / "weights" / "yolov8n.pt"
CONF, IOU, MAX_DET = 0.001, 0.7, 300


def best_of(fns: dict, repeats: int, sync) -> tuple[dict, dict]:
    """({name: best seconds}, {name: last result}) of `repeats` timed calls of each function after one
    untimed warm-up call each; the timed calls take turns, so that a load on the machine that comes
    and goes falls on all of them alike."""
    results = {name: fn() for name, fn in fns.items()}
    sync()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}, results


def make_dataset(source: Path, n: int, dest: Path) -> tuple[Path, list[Path]]:
    """A copy of the first `n` images (and labels) of `source`'s val split as dest/images/val."""
    info = datasets.read_data_yaml(source / "data.yaml")
    split = "val" if "val" in info["splits"] else next(iter(info["splits"]))
    images = datasets.list_images(info["splits"][split])
    images = images[:n] if n > 0 else images
    if not images:
        raise SystemExit(f"no images in {info['splits'][split]}")
    for sub in ("images", "labels"):
        (dest / sub / "val").mkdir(parents=True, exist_ok=True)
    for image in images:
        shutil.copyfile(image, dest / "images" / "val" / image.name)
        label = datasets.label_path(image)
        if label.exists():
            shutil.copyfile(label, dest / "labels" / "val" / label.name)
    (dest / "data.yaml").write_text(yaml.safe_dump(  # Ultralytics requires a train key: point it at val
        {"train": "images/val", "val": "images/val", "names": dict(enumerate(info["names"]))}, sort_keys=False))
    return dest / "data.yaml", datasets.list_images(dest / "images" / "val")


def raw_batches(images: list[Path], imgsz: int, batch: int, device, half: bool) -> list:
    """The images letterboxed to imgsz x imgsz (Ultralytics' LetterBox), RGB, 0-1, as device tensors."""
    import cv2
    import torch
    from ultralytics.data.augment import LetterBox

    letterbox = LetterBox((imgsz, imgsz), auto=False, stride=32)
    arrays = [letterbox(image=cv2.imread(str(p)))[..., ::-1].transpose(2, 0, 1) for p in images]
    out = []
    for start in range(0, len(arrays), batch):
        x = torch.from_numpy(np.ascontiguousarray(np.stack(arrays[start:start + batch]))).to(device)
        out.append(x.half() / 255 if half else x.float() / 255)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=0, help="use the first N images of the val split (0: all)")
    parser.add_argument("--dataset", type=Path, default=DATASET, help="YOLO dataset folder holding data.yaml")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--batch", type=int, default=32, help="batch size of all three (the predict stage's default)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (best is reported)")
    parser.add_argument("--val-rect", action="store_true", help="model.val() with its default rectangular batches")
    args = parser.parse_args()
    if args.repeats < 1 or args.batch < 1 or args.imgsz < 32:
        parser.error("--repeats and --batch must be at least 1, --imgsz at least 32")
    if not (args.dataset / "data.yaml").is_file() or not args.weights.is_file():
        print(f"skipped: need {args.dataset / 'data.yaml'} and {args.weights} (pass --dataset / --weights)")
        return 0

    os.environ.setdefault("YOLO_VERBOSE", "false")  # keep Ultralytics' progress bars out of the table
    runtime.offline()
    import torch
    import ultralytics
    from ultralytics import YOLO
    from ultralytics.nn.autobackend import AutoBackend

    device = runtime.resolve_device(args.device)
    runtime.use_threads()  # as the predict stage: torch on THREADS, also after Ultralytics picks a device
    half = device != "cpu"
    torch_device = torch.device("cpu" if device == "cpu" else f"cuda:{device}")
    sync = (lambda: torch.cuda.synchronize(torch_device)) if half else (lambda: None)
    settings = {"imgsz": args.imgsz, "batch": args.batch, "conf": CONF, "iou": IOU, "max_det": MAX_DET, "half": half}

    with tempfile.TemporaryDirectory(prefix="augaudit-bench-") as tmp:
        tmp = Path(tmp)
        data_yaml, images = make_dataset(args.dataset, args.images, tmp / "data")
        n = len(images)
        name = torch.cuda.get_device_name(torch_device) if half else f"CPU ({torch.get_num_threads()} threads)"
        print(f"{n} images from {args.dataset}, imgsz {args.imgsz}, batch {args.batch}, {args.weights.name}, "
              f"device {device} = {name}, {'fp16' if half else 'fp32'}; best of {args.repeats} after a warm-up")
        print(f"torch {torch.__version__}, ultralytics {ultralytics.__version__}, python {sys.version.split()[0]}")

        # (a) raw forward
        net = AutoBackend(args.weights, device=torch_device, fp16=half, fuse=True, verbose=False).eval()
        batches = raw_batches(images, args.imgsz, args.batch, torch_device, half)

        def forward():
            with torch.inference_mode():
                for x in batches:
                    net(x)

        # (b) ours: predict stage + score stage's mAP, and each of the two alone
        detect = inference.Detector(args.weights, settings, device, workers=THREADS)
        class_ids = list(range(len(net.names)))
        frame = detect(images)

        def score():
            refs, sizes = references(images)
            return metrics.coco_map(refs, sizes, frame, class_ids)

        def ours():
            return metrics.coco_map(*references(images), detect(images), class_ids)

        # (p) Ultralytics' model.predict in batch chunks
        model = YOLO(str(args.weights))

        def ultralytics_predict():
            for start in range(0, n, args.batch):
                model.predict([str(p) for p in images[start:start + args.batch]], imgsz=args.imgsz, conf=CONF,
                              iou=IOU, max_det=MAX_DET, batch=args.batch, rect=False, device=device,
                              quantize=16 if half else None, verbose=False)

        # (c) model.val() on the same images
        val_model = YOLO(str(args.weights))

        def val():
            return val_model.val(data=str(data_yaml), split="val", imgsz=args.imgsz, batch=args.batch, conf=CONF,
                                 iou=IOU, max_det=MAX_DET, rect=args.val_rect, device=device,
                                 quantize=16 if half else None, plots=False, project=str(tmp / "runs"),
                                 name="val", exist_ok=True, verbose=False)

        t, result = best_of({"raw": forward, "ours": ours, "detect": lambda: detect(images), "score": score,
                             "predict": ultralytics_predict, "val": val}, args.repeats, sync)

    t_raw, t_ours, t_predict, t_val = t["raw"], t["ours"], t["predict"], t["val"]
    predict_best, map_best = t["detect"], t["score"]
    ours_map, n_boxes, val_metrics = result["ours"], len(frame), result["val"]
    print()
    print(f"{'':38s} {'images/s':>9s} {'s/run':>8s}")
    print(f"{'(a) raw forward (AutoBackend, no NMS)':38s} {n / t_raw:9.1f} {t_raw:8.3f}")
    print(f"{'(b) ours: predict + coco_map':38s} {n / t_ours:9.1f} {t_ours:8.3f}")
    print(f"{'      inference.Detector alone':38s} {n / predict_best:9.1f} {predict_best:8.3f}   ({n_boxes} boxes)")
    print(f"{'      labels + metrics.coco_map alone':38s} {n / map_best:9.1f} {map_best:8.3f}")
    print(f"{'(p) Ultralytics model.predict':38s} {n / t_predict:9.1f} {t_predict:8.3f}")
    print(f"{'(c) model.val()' + (' (rect)' if args.val_rect else ' (rect=False)'):38s} "
          f"{n / t_val:9.1f} {t_val:8.3f}")
    print()
    print(f"ours/raw throughput: {t_raw / t_ours:.2f}   (Detector alone/raw: {t_raw / predict_best:.2f}, "
          f"model.predict/raw: {t_raw / t_predict:.2f})")
    print(f"ours/val throughput: {t_val / t_ours:.2f}")
    box = val_metrics.box
    print(f"mAP50     ours {ours_map['map50']:.4f}  val {box.map50:.4f}  diff {ours_map['map50'] - box.map50:+.4f}")
    print(f"mAP50-95  ours {ours_map['map50_95']:.4f}  val {box.map:.4f}  diff {ours_map['map50_95'] - box.map:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
