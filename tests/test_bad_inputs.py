"""A catalogue of bad inputs: each fails with a clear error naming the file (and line or key),
and leaves no partial output behind."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys

import pytest
import torch
import yaml

from augaudit import datasets, paramsfile, synthetic
from augaudit.stageparams import call

from conftest import ROOT, default_params

# ---------------------------------------------------------------- params.yaml


def _edit(fn):
    params = copy.deepcopy(default_params())
    fn(params)
    return params


PARAMS_CASES = {
    "unknown top-level key": (lambda p: p.update(sede=1), "(top level): Additional properties"),
    "negative seed": (lambda p: p.update(seed=-1), "seed: -1 is less than the minimum of 0"),
    "empty severities": (lambda p: p["perturbations"]["fog"].update(severities=[]), "perturbations.fog.severities"),
    "unknown ultralytics switch": (lambda p: p["recipes"]["none"].update(ultralytics={"mosaik": 1}),
                                   "recipes.none.ultralytics: Additional properties"),
    "init not a yaml or checkpoint": (lambda p: p["variants"]["baseline"].update(init="weights.txt"),
                                      "variants.baseline.init"),
    "evaluate_only without checkpoint": (lambda p: p["variants"]["baseline"].update(evaluate_only=True),
                                         "needs a .pt checkpoint"),
    "warm-start cycle": (lambda p: p["variants"]["baseline"].update(init="results/models/flips"),
                         "cycle"),
    "unknown audit baseline": (lambda p: p["variants"]["mixed"].update(baseline="ghost"), "unknown variant"),
    "recipe targets an unknown factor": (lambda p: p["recipes"]["mixed"].update(targets=["sharpness"]),
                                         "recipes.mixed.targets[0]"),
    "match_iou out of range": (lambda p: p["score"].update(match_iou=0), "score.match_iou"),
    "source inside the project's outputs": (lambda p: p["dataset"].update(source="data/clean/data.yaml"),
                                            "dataset.source: data/clean/data.yaml is inside the project's own outputs"),
    "source missing": (lambda p: p["dataset"].update(source="nope/data.yaml"),
                       "dataset.source: nope/data.yaml: no such file (a YOLO data yaml, or synthetic)"),
    "source a folder": (lambda p: p["dataset"].update(source="tests"), "dataset.source: tests: is a folder"),
    "source not a data yaml": (lambda p: p["dataset"].update(source="params.yaml"),
                               "dataset.source: params.yaml: expected a mapping with a 'names' key"),
    "evaluated on the train split": (lambda p: p["dataset"].update(eval_split="train"),
                                     "dataset.eval_split: 'train' holds the images variant baseline trains on"),
    "init file missing": (lambda p: p["variants"]["mixed"].update(init="models/yolov8s.yaml"),
                          "variants.mixed.init: models/yolov8s.yaml: no such file"),
}


@pytest.mark.parametrize("case", PARAMS_CASES)
def test_bad_params(case, tmp_path):
    edit, words = PARAMS_CASES[case]
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(_edit(edit), sort_keys=False))
    with pytest.raises(paramsfile.ParamsError) as e:
        paramsfile.load(path)
    assert str(e.value).startswith(str(path)) and words in str(e.value) and "\n" not in str(e.value)


def test_a_split_that_is_the_train_folder_is_not_evaluated_when_a_variant_trains(tmp_path):
    """coco128's own yaml has `val: images/train`: scores on it are scores on seen images, unless every
    variant evaluates a checkpoint as it is."""
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [a]\n")
    params = _edit(lambda p: p["dataset"].update(source=str(tmp_path / "data.yaml"), eval_split="val"))
    with pytest.raises(paramsfile.ParamsError, match=r"dataset.eval_split: 'val' holds the images variant baseline "
                       r"trains on \(the train split is the same folder\)"):
        paramsfile.validate(params)
    (tmp_path / "w.pt").write_bytes(b"")
    params["variants"] = {"ckpt": {"init": str(tmp_path / "w.pt"), "recipe": "none", "evaluate_only": True}}
    paramsfile.validate(params)  # an evaluate-only checkpoint was not trained here


@pytest.mark.parametrize("text, words", [("seed: [1,\n", "not valid YAML"), ("- 1\n- 2\n", "expected a mapping")])
def test_unparseable_params(tmp_path, text, words):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(paramsfile.ParamsError, match=words):
        paramsfile.load(path)


def test_missing_params_file(tmp_path):
    with pytest.raises(paramsfile.ParamsError, match="params file not found"):
        paramsfile.load(tmp_path / "nope.yaml")


# ---------------------------------------------------------------- datasets


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working folder with a small user dataset (YOLO layout) and params pointing at it."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "models", tmp_path / "models")  # the architecture yamls the variants start from
    synthetic.generate(tmp_path / "user", 0, 64, {"train": 3, "val": 2, "test": 2}, 2, 0)
    params = default_params()
    params["dataset"]["source"] = str(tmp_path / "user/data.yaml")
    return tmp_path, params


def _no_output(root):
    leftovers = [p for p in (root / "data").rglob("*")] if (root / "data").exists() else []
    leftovers += [p for p in (root / "results").rglob("*")] if (root / "results").exists() else []
    assert leftovers == [], leftovers


def _prepare_fails(root, params, words):
    with pytest.raises(datasets.DatasetError) as e:
        call(params, "prepare")
    assert words in str(e.value)
    _no_output(root)
    return str(e.value)


def test_missing_data_yaml(project):
    root, params = project
    params["dataset"]["source"] = str(root / "user/missing.yaml")
    _prepare_fails(root, params, "missing.yaml: data yaml not found")


def test_data_yaml_without_names(project):
    root, params = project
    (root / "user/data.yaml").write_text("train: images/train\n")
    _prepare_fails(root, params, "data.yaml: expected a mapping with a 'names' key")


def test_missing_split_folder(project):
    root, params = project
    shutil.rmtree(root / "user/images/val")
    _prepare_fails(root, params, "split 'val' folder")


@pytest.mark.parametrize("line, words", [("0 0.5 0.5 0.1\n", "expected 'class cx cy w h'"),
                                         ("cat 0.5 0.5 0.1 0.1\n", "expected 'class cx cy w h' numbers"),
                                         ("-1 0.5 0.5 0.1 0.1\n", "integer class"),
                                         ("1.5 0.5 0.5 0.1 0.1\n", "integer class")])
def test_malformed_label_line(project, line, words):
    root, params = project
    label = root / "user/labels/train/train_00001.txt"
    label.write_text(label.read_text() + line)
    n = len(label.read_text().splitlines())
    message = _prepare_fails(root, params, words)
    assert f"train_00001.txt:{n}:" in message


def test_eval_split_missing_from_dataset(project):
    root, params = project
    shutil.rmtree(root / "user/images/test")
    (root / "user/data.yaml").write_text("train: images/train\nval: images/val\nnames: {0: a, 1: b}\n")
    _prepare_fails(root, params, "dataset.eval_split 'test' has no images")


def _check_fails(root, params, words):
    call(params, "prepare")
    with pytest.raises(datasets.DatasetError) as e:
        call(params, "check")
    assert words in str(e.value)
    assert not (root / "results/check").exists() and not list((root / "results").glob(".check*"))
    return str(e.value)


def test_corrupt_image(project):
    root, params = project
    image = root / "user/images/val/val_00001.png"
    image.write_bytes(image.read_bytes()[:100])
    _check_fails(root, params, "val_00001.png: corrupt or unreadable image")


def test_class_id_beyond_names(project):
    root, params = project
    label = root / "user/labels/val/val_00000.txt"
    label.write_text("9 0.5 0.5 0.2 0.2\n" + label.read_text())
    _check_fails(root, params, "val_00000.txt:1: class 9 but the data yaml names 4 classes")


# ---------------------------------------------------------------- train and device


def test_missing_init_checkpoint_stops_before_training(project):
    root, params = project
    params["variants"]["baseline"]["init"] = "weights/missing.pt"
    with pytest.raises(FileNotFoundError, match="variants.baseline.init: checkpoint weights/missing.pt does not exist"):
        call(params, "train", variant="baseline")
    assert not (root / "results").exists()


@pytest.mark.parametrize("content", [b"not a checkpoint\n", b"PK\x03\x04truncated"])
def test_a_checkpoint_that_does_not_load_is_one_line_naming_it(project, content):
    """A text file or a truncated download given as `init`: one line naming the key and the file, from
    the script, before anything is written."""
    root, params = project
    (root / "bad.pt").write_bytes(content)
    params["variants"]["baseline"].update(init="bad.pt", evaluate_only=True)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    call(params, "prepare")
    result = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--variant", "baseline"],
                            capture_output=True, text=True, cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: params.yaml: variants.baseline.init: bad.pt is not a checkpoint "
                                    "Ultralytics can load"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (root / "results/models").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_requested_on_a_machine_without_it(project):
    root, params = project
    params["device"] = "cuda"
    call(params, "prepare")
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--variant", "baseline"],
                            capture_output=True, text=True, cwd=root)
    assert result.returncode != 0 and "CUDA is not available" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr  # one line
    assert not (root / "results/models/baseline").exists()


def test_undeclared_variant_on_the_command_line(project):
    root, params = project
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    result = subprocess.run([sys.executable, str(ROOT / "scripts/train.py"), "--variant", "ghost"],
                            capture_output=True, text=True, cwd=root)
    assert result.returncode == 1 and result.stderr.strip() == \
        "error: params.yaml: variants.ghost: not declared (known: baseline, flips, mixed)"


@pytest.mark.parametrize("line, words", [("0 nan 0.5 0.1 0.1\n", "expected finite numbers"),
                                         ("0 0.5 0.5 inf 0.1\n", "expected finite numbers"),
                                         ("nan 0.5 0.5 0.1 0.1\n", "expected finite numbers")])
def test_non_finite_label_values(project, line, words):
    """NaN and infinities in a label (class or box) stop the run at the file and line; before, an
    `inf` width became a box 0.996 wide in the perturbed labels and NaN class ids a traceback."""
    root, params = project
    label = root / "user/labels/train/train_00001.txt"
    label.write_text(label.read_text() + line)
    n = len(label.read_text().splitlines())
    assert f"train_00001.txt:{n}:" in _prepare_fails(root, params, words)


def test_box_with_no_area_inside_the_frame(project):
    root, params = project
    label = root / "user/labels/test/test_00000.txt"
    label.write_text(label.read_text() + "\n0 1.5 0.5 0.2 0.2\n")  # wholly right of the image, after a blank line
    n = len(label.read_text().splitlines())
    _check_fails(root, params, f"test_00000.txt:{n}: box [1.5, 0.5, 0.2, 0.2] has no area inside the image")


@pytest.mark.parametrize("second", ["test_00000.png", "nested/test_00000.jpg"])
def test_two_images_with_one_id_in_a_split(project, second):
    """Same stem, other extension or folder: their perturbed copies, predictions and scores would
    overwrite each other (5 images becoming 4), so check refuses, naming both."""
    root, params = project
    first = next((root / "user/images/test").glob("test_00000.*"))
    target = root / "user/images/test" / second
    if target.exists():  # the generated image has this very name: use the other extension
        target = target.with_suffix(".jpg")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(first, target)
    call(params, "prepare")
    with pytest.raises(datasets.DatasetError, match="two images with the id 'test_00000' in one split"):
        call(params, "check")


def test_files_left_behind_are_reported(project, capsys):
    """A label file without an image, and a file in an images folder no image reader takes (a GIF:
    Ultralytics does not read it either), are reported and not copied."""
    root, params = project
    (root / "user/labels/val/ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "user/images/val/anim.gif").write_bytes(b"GIF89a")
    call(params, "prepare")
    import json

    orphans = json.loads((root / "data/clean/provenance.json").read_text())["not_copied"]
    gif, ghost = str(root / "user/images/val/anim.gif"), str(root / "user/labels/val/ghost.txt")
    assert orphans == {gif: "not an image Ultralytics reads", ghost: "label file without an image"}
    err = capsys.readouterr().err
    assert f"warning: {ghost}: label file without an image, not copied" in err
    assert f"warning: {gif}: not an image Ultralytics reads, not copied" in err
    assert not (root / "data/clean/labels/val/ghost.txt").exists()
    assert not (root / "data/clean/images/val/anim.gif").exists()


def test_a_label_error_found_by_check_names_the_user_s_file_not_its_copy(project):
    root, params = project
    (root / "user/labels/test/test_00000.txt").write_text("9 0.5 0.5 0.1 0.1\n")
    call(params, "prepare")
    with pytest.raises(datasets.DatasetError) as e:
        call(params, "check")
    assert str(e.value) == f"{root / 'user/labels/test/test_00000.txt'}:1: class 9 but the data yaml names 4 classes"


@pytest.mark.parametrize("content, words", [
    (b"0 0.5 0.5 0.1 0.1 \xe9\n", "test_00000.txt: not UTF-8 text (byte b'\\xe9' at offset 18)"),
])
def test_a_label_file_that_is_not_text_is_one_line_naming_it(project, content, words):
    root, params = project
    (root / "user/labels/test/test_00000.txt").write_bytes(content)
    with pytest.raises(datasets.DatasetError) as e:
        call(params, "prepare")
    assert str(e.value).endswith(words), str(e.value)


def test_nc_that_disagrees_with_names_is_refused(project):
    root, params = project
    data = root / "user/data.yaml"
    data.write_text(data.read_text() + "nc: 2\n")
    _prepare_fails(root, params, "data.yaml: nc: 2, but names lists 4 classes")


def test_an_unexpected_error_ends_in_one_line_naming_the_stage(project):
    """A score run on a corrupt predictions file: not a foreseen error, yet the last line says which
    stage and item failed and why, and the traceback stays above it for the log."""
    root, params = project
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    call(params, "prepare")
    corrupt = root / "results/predictions/mixed/clean/r0/0.parquet"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"not parquet")
    result = subprocess.run([sys.executable, str(ROOT / "scripts/score.py"), "--variant", "mixed"],
                            capture_output=True, text=True, cwd=root)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: score --variant mixed: unexpected ") and "(traceback above)" in last
    assert "Traceback (most recent call last)" in result.stderr


@pytest.mark.parametrize("text, words", [
    ("names: 80\ntrain: images/train\n", "names: expected a list of class names"),
    ("names: {0: a, 2: b}\ntrain: images/train\n", "names: expected a list of class names"),
    ("names: [a, b]\ntrain: [images/train, more/train]\n", "train: expected one folder"),
])
def test_data_yaml_shapes_that_are_not_a_dataset(project, text, words):
    root, params = project
    (root / "user/data.yaml").write_text(text)
    _prepare_fails(root, params, words)


def test_data_yaml_that_is_not_text(project):
    root, params = project
    (root / "user/data.yaml").write_bytes(b"\xff\xd8\xff\xe0 a JPEG")
    _prepare_fails(root, params, "not a text file")


def test_an_image_header_of_30000_by_30000(project):
    """A PNG whose header claims 900 megapixels: refused by check naming the file (before: a traceback)."""
    import struct
    import zlib

    root, params = project
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    image = next((root / "user/images/test").glob("test_00000.*"))
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    _check_fails(root, params, "corrupt or unreadable image")


def test_an_evaluated_split_without_labels_needs_label_free_scoring(project):
    """Without labels every image would look empty (nothing to find) and score perfectly: refused."""
    root, params = project
    shutil.rmtree(root / "user/labels/test")
    call(params, "prepare")
    call(params, "check")
    import json

    assert json.loads((root / "results/check/data_check.json").read_text())["splits"]["test"]["labels_folder"] is False
    with pytest.raises(datasets.DatasetError, match="the evaluated split has no labels; label it, or score label-free"):
        call(params, "score", variant="mixed")


def test_params_that_are_not_utf8_text_are_one_line_naming_the_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_bytes((ROOT / "params.yaml").read_bytes().replace(b"seed: 0", b"seed: 0 # \xff"))
    with pytest.raises(paramsfile.ParamsError, match=r"params\.yaml: not UTF-8 text \(byte b'\\xff' at offset \d+\)"):
        paramsfile.load(path)


@pytest.mark.parametrize("blocker", ["file", "read-only"])
def test_an_output_folder_the_system_refuses_is_one_line_naming_it(project, blocker):
    """results/ as a file, or a folder the stage may not write: the operating system's error, named by
    its path, is the job's one last line — no traceback, and nothing left behind."""
    import os

    root, params = project
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    call(params, "prepare")
    if blocker == "file":
        (root / "results").write_text("not a folder")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        (root / "results").mkdir()
        (root / "results").chmod(0o500)
    result = subprocess.run([sys.executable, str(ROOT / "scripts/check.py")], capture_output=True, text=True,
                            cwd=root)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "results" in result.stderr, result.stderr
    assert not [p for p in root.rglob("*") if ".old-" in p.name or p.name.endswith(".tmp")]


def test_a_file_where_the_data_folder_goes_is_one_line_naming_it(project):
    root, params = project
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    (root / "data").write_text("not a folder")
    result = subprocess.run([sys.executable, str(ROOT / "scripts/prepare.py")], capture_output=True, text=True,
                            cwd=root)
    assert result.returncode == 1 and result.stderr == "error: data: a file where a folder is needed; move it away\n"


def test_a_subcommand_s_operating_system_error_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "augaudit.command", "catalogue-sheet", "--out",
                             str(tmp_path / "missing" / "x.png")], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == f"error: {tmp_path / 'missing' / 'x.png'}: No such file or " \
        "directory\n", result.stderr


def test_a_split_whose_label_files_hold_no_box_is_refused_by_check(project):
    """Scored against empty labels, every image would have nothing to break: risk 0.0 % that looks finished."""
    root, params = project
    for label in (root / "user/labels/test").glob("*.txt"):
        label.write_text("")
    _check_fails(root, params, f"{root / 'user/labels/test'}: 2 images and not one box in their label files")


def test_a_batch_larger_than_the_train_split_is_refused_before_training(project):
    root, params = project
    call(params, "prepare")
    params["variants"]["baseline"]["train"] = {"batch": 4}  # 3 train images
    with pytest.raises(paramsfile.ParamsError, match=r"params.yaml: variants.baseline.train.batch: 4 is larger "
                       r"than the train split \(3 images in data/clean/images/train\); use at most 3"):
        call(params, "train", variant="baseline")
    assert not (root / "results/models").exists()


def test_an_empty_train_split_is_refused_before_training(project):
    root, params = project
    call(params, "prepare")
    for image in (root / "data/clean/images/train").iterdir():
        image.unlink()
    with pytest.raises(datasets.DatasetError, match="data/clean/images/train: no images, and variant baseline trains"):
        call(params, "train", variant="baseline")
    assert not (root / "results/models").exists()


@pytest.mark.parametrize("where", ["training", "validation"])
def test_training_that_diverges_fails_naming_variant_and_epoch_and_keeps_no_model(project, monkeypatch, where):
    """Real Ultralytics training whose loss turns NaN (its detection loss patched): in training from the
    second step on (Ultralytics gives up after three recoveries), or in every validation (it finishes,
    and zeroes NaN weights into a normal-looking best.pt: the stage reads results.csv and refuses)."""
    import math

    from ultralytics.utils import loss

    from augaudit import training

    real = loss.v8DetectionLoss.__call__
    state = {"calls": 0}

    def poisoned(self, preds, batch):
        total, items = real(self, preds, batch)
        state["calls"] += 1
        if (where == "training" and state["calls"] == 1) or (where == "validation" and torch.is_grad_enabled()):
            return total, items
        return total * math.nan, {k: v * math.nan for k, v in items.items()} if isinstance(items, dict) \
            else items * math.nan

    monkeypatch.setattr(loss.v8DetectionLoss, "__call__", poisoned)
    root, params = project
    params["train"].update(imgsz=64, epochs=3, batch=3, nbs=3, workers=0, replicates=1)
    params["variants"]["baseline"]["init"] = str(ROOT / params["variants"]["baseline"]["init"])
    call(params, "prepare")
    words = r"NaN persisted" if where == "training" else r"val/box_loss is not finite at epoch 1 \(results.csv\)"
    with pytest.raises(training.Diverged, match=r"variants.baseline replicate r0: training diverged.*" + words):
        call(params, "train", variant="baseline", replicate="r0")
    assert not (root / "results/models/baseline/r0").exists() and not list(root.rglob("best.pt"))
    assert not [p for p in root.rglob("*") if ".old-" in p.name or p.name.endswith(".tmp")]


def test_first_divergence_reads_every_loss_column(tmp_path):
    from augaudit import training

    csv = tmp_path / "results.csv"
    csv.write_text("epoch,  train/box_loss,metrics/mAP50(B),val/cls_loss\n1,2.0,nan,3.0\n2,1.5,0.1,inf\n3,nan,0,1\n")
    assert training.first_divergence(csv) == (2, "val/cls_loss")  # mAP NaN is not a loss
    csv.write_text("epoch,train/box_loss\n1,2.0\n2,1.0\n")
    assert training.first_divergence(csv) is None


def test_a_checkpoint_evaluated_as_it_is_must_detect_the_dataset_s_classes(project):
    """A COCO-style checkpoint (80 classes) evaluated on a 4-class dataset would score its class 0 as the
    labels' class 0: refused before anything is written, naming the key and the first differing class."""
    import torch
    from ultralytics import YOLO

    root, params = project
    model = YOLO(str(ROOT / "models/yolov8n.yaml")).model  # 80 classes
    torch.save({"model": model}, root / "coco.pt")
    params["variants"] = {"ckpt": {"init": "coco.pt", "recipe": "none", "evaluate_only": True}}
    call(params, "prepare")
    with pytest.raises(datasets.DatasetError, match=r"^params.yaml: variants.ckpt.init: coco.pt detects 80 classes "
                       r"and the dataset has 4; class 0 is '.*' in the checkpoint and 'circle' in the data yaml"):
        call(params, "train", variant="ckpt")
    assert not (root / "results").exists()
