"""YOLO-format datasets: read a data yaml, list images, read and write label files.

A dataset on disk is `images/<split>/*` + `labels/<split>/*.txt` + `data.yaml` (no `path:` key, so
it resolves next to the yaml, as Ultralytics does). An image's id is its file stem.

Images are read here only (`read_image`, `image_size`), with their EXIF orientation applied, as
OpenCV and Ultralytics decode them: YOLO labels describe the image as displayed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import yaml
from PIL import Image

from augaudit import yamlfile
from augaudit.files import sha256_bytes, sha256_file, write_text

SOURCES = "sources.json"  # in a copied dataset: each split's images folder in the user's dataset
IMAGE_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")


class DatasetError(ValueError):
    """Bad dataset input; the message names the file (and line)."""


def write_data_yaml(root: Path, names: list[str], splits: list[str]) -> None:
    data = {split: f"images/{split}" for split in splits}
    data["names"] = dict(enumerate(names))
    write_text(root / "data.yaml", yaml.safe_dump(data, sort_keys=False))


def read_data_yaml(path: str | Path) -> dict:
    """Load a data yaml; return {'root': Path, 'names': [..], 'splits': {split: images dir}}."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: data yaml not found")
    try:
        data = yamlfile.load_file(path)
    except yamlfile.YamlError as e:
        raise DatasetError(str(e)) from None
    if not isinstance(data, dict) or "names" not in data:
        raise DatasetError(f"{path}: expected a mapping with a 'names' key")
    for key in ("path", "train", "val", "test"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise DatasetError(f"{path}: {key}: expected one folder (a string), got {data[key]!r}"[:300])
    root = Path(data.get("path") or ".")  # no `path:` (or a relative one): next to the yaml, as Ultralytics does
    if not root.is_absolute():
        root = (path.parent / root).resolve()
    names = data["names"]
    if isinstance(names, dict) and all(isinstance(k, int) for k in names) and sorted(names) == list(range(len(names))):
        names = [names[k] for k in sorted(names)]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise DatasetError(f"{path}: names: expected a list of class names or a mapping 0..n-1 -> name, "
                           f"got {names!r}"[:300])
    if "nc" in data and data["nc"] != len(names):  # Ultralytics refuses the pair too
        raise DatasetError(f"{path}: nc: {data['nc']!r}, but names lists {len(names)} classes")
    splits = {}
    for split in ("train", "val", "test"):
        if data.get(split):
            images = Path(data[split])
            splits[split] = images if images.is_absolute() else (root / images).resolve()
    return {"root": root, "names": names, "splits": splits}


EXIF_ORIENTATION = 0x0112
TRANSPOSED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of the image as displayed (EXIF orientation applied), from its header."""
    with Image.open(path) as im:
        w, h = im.size
        return (h, w) if im.getexif().get(EXIF_ORIENTATION) in TRANSPOSED else (w, h)


def read_image(path: str | Path) -> np.ndarray:
    """The image as RGB uint8, EXIF orientation applied (OpenCV's decode, as Ultralytics reads it)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def list_images(images_dir: Path) -> list[Path]:
    return sorted(p for p in Path(images_dir).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last `images` folder of the path becomes `labels`, suffix `.txt`."""
    parts = list(image.parts)
    idx = len(parts) - 1 - parts[::-1].index("images")
    parts[idx] = "labels"
    return Path(*parts).with_suffix(".txt")


def read_labels(path: Path) -> np.ndarray:
    """(N, 5) float array [class, cx, cy, w, h]; a missing file is a background image (no boxes)."""
    if not path.exists():
        return np.zeros((0, 5))
    rows = []
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at offset {e.start})") \
            from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            row = [float(v) for v in fields[:5]]
        except ValueError:
            raise DatasetError(f"{path}:{n}: expected 'class cx cy w h' numbers, got {line!r}") from None
        if not all(math.isfinite(v) for v in row):
            raise DatasetError(f"{path}:{n}: expected finite numbers, got {line!r}")
        if len(fields) != 5 or row[0] != int(row[0]) or row[0] < 0:
            raise DatasetError(f"{path}:{n}: expected 'class cx cy w h' (integer class), got {line!r}")
        rows.append(row)
    return np.array(rows, dtype=float).reshape(-1, 5)


def format_labels(labels: np.ndarray) -> str:
    return "".join(f"{int(c)} {x:.6f} {y:.6f} {w:.6f} {h:.6f}\n" for c, x, y, w, h in labels)


def copy_dataset(data_yaml: str | Path, out: Path) -> dict[str, str]:
    """Copy a user's YOLO dataset into the standard layout (labels travel with their images); return
    the files left behind, each with why: label files that have no image (nothing would be scored
    against them) and files in an images folder that are no image Ultralytics reads (a .gif, a .txt)."""
    info = read_data_yaml(data_yaml)
    orphans = {}
    for split, images_dir in info["splits"].items():
        if not images_dir.is_dir():
            raise DatasetError(f"{data_yaml}: split {split!r} folder {images_dir} does not exist")
        images = list_images(images_dir)
        orphans |= {str(p): "not an image Ultralytics reads" for p in sorted(images_dir.rglob("*"))
                    if p.is_file() and p.suffix.lower() not in IMAGE_SUFFIXES}
        labels_dir = label_path(images_dir / "x").parent
        if labels_dir.is_dir():
            stems = {label_path(image).with_suffix("") for image in images}
            orphans |= {str(p): "label file without an image" for p in sorted(labels_dir.rglob("*.txt"))
                        if p.with_suffix("") not in stems}
        for image in images:
            rel = image.relative_to(images_dir)
            dst = out / "images" / split / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(image, dst)
            src_label = label_path(image)
            if src_label.exists():
                read_labels(src_label)  # fail early, naming the file and line
                lab = out / "labels" / split / rel.with_suffix(".txt")
                lab.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src_label, lab)
    write_data_yaml(out, info["names"], list(info["splits"]))
    write_text(out / SOURCES, json.dumps({split: str(d) for split, d in info["splits"].items()}, indent=2) + "\n")
    return orphans


def in_source(message: str, clean: Path) -> str:
    """A message about files of the clean copy, naming the user's own files instead (copy_dataset's
    record of where each split came from), so that the file named is the one to fix."""
    record = clean / SOURCES
    if not record.is_file():
        return message
    for split, images_dir in json.loads(record.read_text()).items():
        for kind, source in (("images", Path(images_dir)), ("labels", label_path(Path(images_dir) / "x").parent)):
            for copy in (str((clean / kind / split).resolve()), str(clean / kind / split)):
                message = re.sub(rf"{re.escape(copy)}(?=[/:])", lambda _, s=str(source): s, message)
    return message


# ---------------------------------------------------------------- a user's dataset as the engines see it

def _source_dirs(data_yaml: str | Path) -> list[tuple[Path, Path | None]]:
    """Each split's images folder that exists and its labels folder (None where it has none)."""
    pairs = []
    for images_dir in read_data_yaml(data_yaml)["splits"].values():
        labels_dir = label_path(images_dir / "x").parent
        if images_dir.is_dir() and images_dir not in [i for i, _ in pairs]:
            pairs.append((images_dir, labels_dir if labels_dir.is_dir() else None))
    return pairs


def source_files(data_yaml: str | Path) -> list[Path]:
    """Every file `copy_dataset` reads of a user's dataset: the data yaml, and per split its images and
    the label files beside them (wherever the yaml's `path:` leads)."""
    files = [Path(data_yaml)]
    for images_dir, labels_dir in _source_dirs(data_yaml):
        files += list_images(images_dir) + (sorted(labels_dir.rglob("*.txt")) if labels_dir else [])
    return files


def source_folders(data_yaml: str | Path) -> list[Path]:
    """The data yaml and the folders `copy_dataset` reads (each split's images and labels): what
    dvc.yaml's prepare depends on, so that DVC hashes them by content."""
    return [Path(data_yaml), *(d for pair in _source_dirs(data_yaml) for d in pair if d is not None)]


RACY_NS = 2_000_000_000  # a file modified this close to its hashing may change again within one mtime tick


def fingerprint(data_yaml: str | Path, cache: Path | None = None) -> str:
    """SHA-256 over every source file's path (relative to the yaml's folder) and content hash: it changes
    exactly when a file is edited, added or removed (Snakemake's prepare has it as a param). Content
    hashes are remembered in `cache` by (size, mtime, inode), so a no-op costs one stat per file; as git
    does with its index, a hash is trusted only for a file last modified at least 2 s before it was
    hashed (an edit within the same mtime tick would otherwise go unseen). A yaml that cannot be read
    gives a fingerprint that differs from any dataset's (prepare then fails naming it)."""
    try:
        files = source_files(data_yaml)
    except (DatasetError, OSError) as e:
        return "unreadable: " + sha256_bytes(str(e).encode())
    try:
        known = json.loads(cache.read_text()) if cache and cache.is_file() else {}
        trusted_before = int(known.get("hashed_at", 0)) - RACY_NS
        known = known.get("files", {})
    except (OSError, ValueError, TypeError, AttributeError):
        known, trusted_before = {}, 0
    now = time.time_ns()
    seen, digest, hashed = {}, hashlib.sha256(), False
    base = str(Path(data_yaml).resolve().parent)
    for f in files:  # absolute already (read_data_yaml resolves the splits), except the yaml itself
        key = os.path.abspath(f)
        st = os.stat(key)
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        old = known.get(key)
        trusted = bool(old) and old[0] == stamp and st.st_mtime_ns < trusted_before
        seen[key] = [stamp, old[1] if trusted else sha256_file(key)]
        hashed |= not trusted
        digest.update(f"{os.path.relpath(key, base)}\0{seen[key][1]}\n".encode())
    if cache and (hashed or seen != known):
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_text(cache, json.dumps({"hashed_at": now, "files": seen}))
        except OSError:
            pass  # a read-only project plans as well, only slower
    return digest.hexdigest()
